"""A thin JSON client over kubernetes-asyncio's ApiClient.

kubernetes-asyncio does the kubeconfig, contexts, TLS and auth; we take raw JSON (no model
deserialization: 5,000 pods as OpenAPI models would cost seconds) and control the content types:
for a dict body the generated client picks json-patch (custom objects) or strategic merge, which a
real apiserver rejects for custom resources (415), so patches here are always
application/merge-patch+json unless asked otherwise.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, AsyncIterator, Mapping

import aiohttp
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config import ConfigException, new_client_from_config

from cockpit.errors import ConfigError
from cockpit.yamltext import load_yaml_file

MERGE_PATCH = "application/merge-patch+json"


class KubeError(Exception):
    """An apiserver answer that is not success, with its Status fields."""

    def __init__(self, status: int, reason: str, message: str, body: Any = None) -> None:
        super().__init__(f"{status} {reason}: {message}" if message else f"{status} {reason}")
        self.status, self.reason, self.message, self.body = status, reason, message, body

    @classmethod
    def from_response(cls, status: int, text: str) -> "KubeError":
        try:
            body = json.loads(text)
        except ValueError:
            return cls(status, "Error", text.strip()[:300])
        if isinstance(body, dict) and body.get("kind") == "Status":
            return cls(int(body.get("code") or status), body.get("reason") or "Error", body.get("message") or "", body)
        return cls(status, "Error", text.strip()[:300], body)


class KubeUnavailable(Exception):
    """The apiserver could not be reached (refused, DNS, TLS, timeout)."""


class KubeConfigError(Exception):
    """The kubeconfig is missing, unreadable, or lacks the requested context."""


def _read_kubeconfig(path: Path) -> Any:
    """Through the cockpit's bounded YAML reader (size, aliases, regular files only)."""
    try:
        return load_yaml_file(path) or {}
    except ConfigError as exc:
        raise KubeConfigError(f"kubeconfig {'; '.join([exc.source, *exc.problems])}") from None


def kubeconfig_contexts(path: Path) -> tuple[list[str], str | None]:
    doc = _read_kubeconfig(path)
    if not isinstance(doc, dict):
        raise KubeConfigError(f"kubeconfig {path} is not a mapping")
    names = [c.get("name") for c in doc.get("contexts") or [] if isinstance(c, dict) and c.get("name")]
    return names, doc.get("current-context") or None


def context_namespace(path: Path, context: str) -> str | None:
    doc = _read_kubeconfig(path)
    for c in (doc.get("contexts") if isinstance(doc, dict) else None) or []:
        if isinstance(c, dict) and c.get("name") == context:
            return (c.get("context") or {}).get("namespace")
    return None


class KubeApi:
    def __init__(self, client: ApiClient, *, context: str, server: str, default_namespace: str = "default") -> None:
        self.client = client
        self.context = context
        self.server = server
        self.default_namespace = default_namespace

    @classmethod
    async def connect(cls, kubeconfig: Path, context: str | None = None) -> "KubeApi":
        """Load the kubeconfig (and context) the way kubectl does; errors name the file and context."""
        names, current = kubeconfig_contexts(kubeconfig)
        chosen = context or current
        if not chosen:
            raise KubeConfigError(f"kubeconfig {kubeconfig} has no current-context; set cockpit.kubernetes.context "
                                  f"(contexts: {', '.join(names) or 'none'})")
        if chosen not in names:
            raise KubeConfigError(f"context {chosen!r} not found in kubeconfig {kubeconfig} "
                                  f"(contexts: {', '.join(names) or 'none'})")
        try:
            client = await new_client_from_config(config_file=str(kubeconfig), context=chosen, persist_config=False)
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise KubeConfigError(f"kubeconfig {kubeconfig}, context {chosen}: {exc}") from None
        ns = context_namespace(kubeconfig, chosen) or "default"
        return cls(client, context=chosen, server=client.configuration.host, default_namespace=ns)

    async def close(self) -> None:
        await self.client.close()

    async def _send(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                    content_type: str = "application/json", timeout: Any = 30.0,
                    accept: str = "application/json") -> aiohttp.ClientResponse:
        params = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (query or {}).items()
                  if v is not None]
        headers = {"Accept": accept, "Content-Type": content_type}
        try:
            return await self.client.call_api(path, method, query_params=params, header_params=headers, body=body,
                                              auth_settings=["BearerToken"], _preload_content=False,
                                              _request_timeout=timeout)
        except ApiException as exc:  # only raised for preloaded content, kept for safety
            raise KubeError.from_response(exc.status or 0, exc.body or "") from None
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, OSError) as exc:
            raise KubeUnavailable(f"cannot reach apiserver {self.server} (context {self.context}): "
                                  f"{exc or type(exc).__name__}") from None

    async def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None,
                      content_type: str = "application/json", timeout: float = 30.0) -> Any:
        resp = await self._send(method, path, query=query, body=body, content_type=content_type, timeout=timeout)
        try:
            text = await resp.text()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise KubeUnavailable(f"apiserver {self.server} dropped the answer: {exc}") from None
        finally:
            resp.release()
        if not 200 <= resp.status < 300:
            raise KubeError.from_response(resp.status, text)
        return json.loads(text) if text else None

    async def get(self, path: str, **query: Any) -> Any:
        return await self.request("GET", path, query=query)

    async def create(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self.request("POST", path, body=body)

    async def patch(self, path: str, body: Any, content_type: str = MERGE_PATCH) -> Any:
        return await self.request("PATCH", path, body=body, content_type=content_type)

    async def delete(self, path: str, propagation_policy: str) -> Any:
        return await self.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                                        "propagationPolicy": propagation_policy})

    async def lines(self, path: str, *, query: Mapping[str, Any] | None = None,
                    read_timeout: float | None = None, accept: str = "application/json") -> AsyncIterator[bytes]:
        """Stream a response line by line (watch events, followed logs). Errors raise KubeError."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout)
        resp = await self._send("GET", path, query=query, timeout=timeout, accept=accept)
        try:
            if not 200 <= resp.status < 300:
                raise KubeError.from_response(resp.status, await resp.text())
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    yield line
            if buffer:
                yield buffer
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
            raise KubeUnavailable(f"stream from {self.server} broke: {exc or type(exc).__name__}") from None
        finally:
            resp.release()
            resp.close()
