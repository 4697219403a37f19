#!/usr/bin/env bash
# The device-machine check (an NVIDIA GPU host, no network): the cockpit's NVML reader and host
# process mapping against the real driver while a torch job uses the GPU, and Oumi's train and
# evaluate (MLOPS-3.1/3.2) with the GPU defaults (bf16). Wheels the host lacks (pydantic, oumi and
# its needs, Python 3.12; protobuf 6, since the host's is 7 and wandb, which Oumi imports, needs
# <7) are carried in .whl. The NVML part lands in $OUT/nvml.tar.gz, everything in $OUT/results.tar.gz.
set -u
R=/tmp/results; mkdir -p $R
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 4
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 PYTHONUNBUFFERED=1
{ nvidia-smi -L; nvidia-smi; uname -a; cat /proc/self/cgroup; } > $R/host.txt 2>&1
if [ "${SKIP_NVML:-0}" != 1 ]; then
python3 scripts/device/record_nvml.py > $R/nvml_h200_idle.json 2>&1
# A GPU job: bf16 matmuls for 30 s holding ~8 GiB.
python3 -c "
import torch, time
a = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16); b = torch.randn_like(a)
hold = torch.empty(8 << 30, dtype=torch.uint8, device='cuda')
t = time.time()
while time.time() - t < 30:
    for _ in range(20): c = a @ b
    torch.cuda.synchronize()
" & GPU_PID=$!
sleep 10
cat /proc/$GPU_PID/cgroup > $R/gpu-process-cgroup.txt 2>&1
python3 scripts/device/record_nvml.py > $R/nvml_h200_busy.json 2>&1
python3 - > $R/cockpit_nvml_reader.json 2>&1 <<'PY'
import json, time
from backends.gpus.nvml import NvmlReader
r = NvmlReader(); t = time.perf_counter(); first = r.read(); t1 = time.perf_counter(); r.read(); t2 = time.perf_counter()
print(json.dumps({"unavailable": r.unavailable, "first_read_s": t1 - t, "second_read_s": t2 - t1,
                  "readings": {k: v.model_dump() for k, v in first.items()}}, indent=1, default=str))
PY
wait $GPU_PID; echo "gpu job rc=$?" >> $R/host.txt
tar -C /tmp -czf $OUT/nvml.tar.gz results  # back even if the Oumi part runs out of time
fi
# Oumi on the GPU (MLOPS-3.1 train, 3.2 evaluate), tiny and a larger model.
oumi_run() {  # name, prepare args...
  local name=$1; shift; local w=/tmp/oumi-$name t0=$SECONDS
  timeout 150 python3 -m workloads.oumi_prepare --out $w --bf16 "$@" > $R/$name-prepare.log 2>&1; echo "$name prepare rc=$? $((SECONDS-t0)) s"
  t0=$SECONDS; timeout 200 python3 -m workloads.oumi_run train -c $w/train.yaml --no-mlflow > $R/$name-train.log 2>&1; echo "$name train rc=$? $((SECONDS-t0)) s"
  t0=$SECONDS; timeout 150 python3 -m workloads.oumi_run evaluate -c $w/eval-base.yaml -c $w/eval-tuned.yaml --no-mlflow > $R/$name-eval.log 2>&1; echo "$name eval rc=$? $((SECONDS-t0)) s"
  cp $w/trained/trainer_state.json $R/$name-trainer_state.json 2>/dev/null
}
# DEADLINE_S: start no Oumi run after this many seconds of the script (the call has a limit).
if [ "${SKIP_OUMI:-0}" != 1 ]; then
  { oumi_run tiny --steps 40 --lr 3e-3
    [ $SECONDS -lt ${DEADLINE_S:-240} ] && oumi_run medium --steps 100 --lr 1e-3 --batch-size 16 --hidden 512 --layers 8 --heads 8
  } 2>&1 | tee $R/oumi-summary.txt
fi
tar -C /tmp -czf $OUT/results.tar.gz results; ls -la $R
