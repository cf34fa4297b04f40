"""YAML read with limits, for files people edit by hand (dialogs, stories).

PyYAML builds aliases as shared references, which is cheap, but everything that walks the
result afterwards pays for every copy: an "alias bomb" (aliases of aliases of lists) is a
few hundred bytes that expand to billions of items, and a self-referencing alias
(`a: &a [*a]`) never ends. The node graph is checked before anything is built from it:
at most `MAX_BYTES` of text, `MAX_ALIASES` aliases, `MAX_NODES` nodes once aliases are
expanded, `MAX_DEPTH` levels, and no alias inside itself. Each breach is an
`UnsafeYaml` error saying which.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 2_000_000
MAX_ALIASES = 1_000
MAX_NODES = 500_000
MAX_DEPTH = 100


class UnsafeYaml(ValueError):
    """The text is YAML we refuse to build (too big, an alias loop or bomb, too deep)."""


def load_limited(text: str, loader: type[yaml.SafeLoader]) -> Any:
    """`yaml.load(text, loader)` with the limits above checked before construction."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise UnsafeYaml(f"the file is larger than {MAX_BYTES:,} bytes")
    reader = _counting(loader)(text)
    try:
        try:
            node = reader.get_single_node()
        except RecursionError:
            raise UnsafeYaml(f"nested more than {MAX_DEPTH} levels deep") from None
        if node is None:
            return None
        check_graph(node)
        return reader.construct_document(node)
    finally:
        reader.dispose()


_COUNTING: dict[type[yaml.SafeLoader], type[yaml.SafeLoader]] = {}


def _counting(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """The loader, refusing more than `MAX_ALIASES` aliases while it composes."""
    if loader in _COUNTING:
        return _COUNTING[loader]

    class Counting(loader):  # type: ignore[valid-type,misc]
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise UnsafeYaml(f"more than {MAX_ALIASES} aliases (*name)")
            return super().compose_node(parent, index)

    _COUNTING[loader] = Counting
    return Counting


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def check_graph(root: yaml.Node) -> None:
    """Refuse loops, and size or depth over the limits as a reader of the built data
    would meet them (aliases expanded). One pass over the distinct nodes, no recursion:
    sizes and depths of shared nodes are remembered, not walked again."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            kids = _children(node)
            size[key] = min(1 + sum(size[id(k)] for k in kids), MAX_NODES + 1)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_nodes.discard(key)
            if size[key] > MAX_NODES:
                raise UnsafeYaml(f"aliases expand to more than {MAX_NODES:,} items "
                                 "(an alias bomb?)")
            if depth[key] > MAX_DEPTH:
                raise UnsafeYaml(f"nested more than {MAX_DEPTH} levels deep")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise UnsafeYaml(f"an alias refers to itself (line {node.start_mark.line + 1}), "
                             "which would never end")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
