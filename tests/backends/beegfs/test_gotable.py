"""The go-pretty table reader on the layouts beegfs-go's cmdfmt prints."""

from __future__ import annotations

import pytest

from backends.beegfs.gotable import column_key, parse_table

# Built the way go-pretty lays it out: every cell padded to its column width plus two spaces.
TABLE = """\
ID   TYPE     ALIAS           NICS                      REACHABLE  
s:1  storage  node_storage_1  rdma:ib0 (10.20.0.21)     yes        
                              ethernet:eth0 (10.0.0.1)  no         
m:1  meta     node_meta_1     ethernet:eth0 (10.0.0.2)  yes        

ID   TYPE     ALIAS           NICS                      REACHABLE  
c:3  client   c3                                        ?          
"""


def test_rows_multiline_cells_and_repeated_headers():
    rows = parse_table(TABLE.splitlines(), ("id", "type", "alias", "nics", "reachable"))
    assert [r["id"] for r in rows] == ["s:1", "m:1", "c:3"]
    assert rows[0]["nics"] == "rdma:ib0 (10.20.0.21)\nethernet:eth0 (10.0.0.1)" and rows[0]["reachable"] == "yes\nno"
    assert rows[2]["nics"] == "" and rows[2]["reachable"] == "?"


def test_column_names_in_every_spelling():
    assert {column_key(n) for n in ("ON NODE", "on_node", "On Node", "on-node")} == {"on_node"}
    assert column_key("% FREE SPACE") == "%_free_space"


def test_rows_without_a_header_are_refused():
    with pytest.raises(ValueError, match="before any header"):
        parse_table(["s:1   storage  node_storage_1"], ("id", "type"))
