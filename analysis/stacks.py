"""Where the servers spent their CPU: sampled stacks of both sides, and what grew from A to B.

Method. During the measured rounds, each server was sampled (runner/profiling.py): FastTrackML, a Go
binary, by Linux perf's `cpu-clock` software event with frame-pointer call chains (no hardware
counter needed); MLflow, Python, by py-spy. Each sample is a stack, root first, folded into one
line `root;caller;...;leaf count`. A function's share of a side is the share of that side's samples
whose stack holds it (inclusive: its callees count too); what grew is the share of B minus the
share of A, in percentage points of each server's CPU (report/flames.py draws it as a flame graph
of B's stacks, coloured by that difference per frame).

FastTrackML's binary is stripped: perf sees addresses only. Go keeps its own symbol table, the
`.gopclntab` section, for its stack traces; `GoSymbols` reads the function names from it (Go 1.20+
format: its header, then a table of each function's entry offset from the text start).
"""

from __future__ import annotations

import bisect
import functools
import re
import struct
from collections import Counter
from pathlib import Path

import pandas as pd

PCLNTAB_MAGIC = 0xFFFFFFF1  # Go 1.20 and later
NOT_GO = "[C code]"  # code of the Go binary that is no Go function's: cgo's (FastTrackML's SQLite)
FRAME = re.compile(r"^\s+([0-9a-f]+)\s+(.+?)\s+\((.*)\)\s*$")


class GoSymbols:
    """Function names of a Go executable's code, from its `.gopclntab` section.

    perf names an address it cannot resolve by its offset in the file; `name` takes that offset. A
    function's extent is where its stack-pointer table (pcsp) ends, so that C code linked between Go
    functions (FastTrackML's SQLite) is not taken for the Go function before it."""

    def __init__(self, path: Path) -> None:
        self.data = data = path.read_bytes()
        offset = _section(data, ".gopclntab")
        if offset is None or struct.unpack_from("<I", data, offset)[0] != PCLNTAB_MAGIC:
            raise ValueError(f"{path}: no Go 1.20+ symbol table (.gopclntab)")
        self.quantum = data[offset + 6]
        count, _, text, names, _, _, pctab, functions = struct.unpack_from("<8Q", data, offset + 8)
        self.table, self.pctab, self.text = offset + functions, offset + pctab, text
        self.entries, self.names, self.infos = [], [], []
        for i in range(count):
            entry, info = struct.unpack_from("<II", data, self.table + 8 * i)
            name = offset + names + struct.unpack_from("<i", data, self.table + info + 4)[0]
            self.entries.append(text + entry)
            self.infos.append(info)
            self.names.append(data[name : data.index(b"\0", name)].decode(errors="replace"))
        self.segments = _load_segments(data)

    def name(self, file_offset: int) -> str | None:
        """The Go function at this offset in the file, None for code that is no Go function's."""
        segment = next(((start, vaddr) for start, end, vaddr in self.segments if start <= file_offset < end), None)
        pc = file_offset - segment[0] + segment[1] if segment else None
        i = bisect.bisect_right(self.entries, pc) - 1 if pc is not None else -1
        if i < 0 or pc >= self.entries[i] + self._length(i):
            return None
        return self.names[i]

    @functools.cache  # noqa: B019 (one table per server, kept while it is profiled)
    def _length(self, i: int) -> int:
        """The function's length in bytes: where its pcsp table ends (a varint-coded run of value and pc deltas)."""
        position = self.pctab + struct.unpack_from("<I", self.data, self.table + self.infos[i] + 16)[0]
        pc, first = 0, True
        while True:
            delta, position = _uvarint(self.data, position)
            if delta == 0 and not first:
                return pc
            first = False
            step, position = _uvarint(self.data, position)
            pc += step * self.quantum


def _uvarint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _load_segments(data: bytes) -> list[tuple[int, int, int]]:
    """The ELF64 loadable segments: (file offset, its end, virtual address)."""
    start, size, count = struct.unpack_from("<Q", data, 0x20)[0], *struct.unpack_from("<HH", data, 0x36)
    segments = []
    for i in range(count):
        kind, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", data, start + i * size)
        if kind == 1:  # PT_LOAD
            segments.append((offset, offset + filesz, vaddr))
    return segments


def _section(data: bytes, wanted: str) -> int | None:
    """The file offset of an ELF64 section, by name."""
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return None
    start = struct.unpack_from("<Q", data, 0x28)[0]
    size, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, start + i * size) for i in range(count)]
    names = headers[names_index][4]
    for name, _, _, _, offset, _ in headers:
        if data[names + name : data.index(b"\0", names + name)].decode() == wanted:
            return offset
    return None


def fold_perf_script(text: str, symbols: GoSymbols | None = None) -> Counter[str]:
    """`perf script` output (one block per sample, leaf first) as folded stacks, root first.
    Frames perf could not name are named from `symbols`, else `[unknown]`."""
    stacks: Counter[str] = Counter()
    frames: list[str] = []
    for line in [*text.splitlines(), ""]:
        found = FRAME.match(line)
        if found:
            address, symbol, _ = found.groups()
            symbol = re.sub(r"\+0x[0-9a-f]+$", "", symbol)
            if symbol == "[unknown]" and symbols:
                symbol = symbols.name(int(address, 16)) or NOT_GO
            frames.append(symbol)
        elif not line.strip() and frames:
            stacks[";".join(reversed(frames))] += 1
            frames = []
    return stacks


def read_folded(path: Path) -> Counter[str]:
    """Folded stacks (`frame;frame;... count` per line), as perf's folding or py-spy's raw output
    writes them; py-spy's per-process root frame is dropped, so that workers add up."""
    stacks: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = stack.split(";")
            if frames[0].startswith("process "):
                frames = frames[1:]
            stacks[";".join(frames)] += int(count)
    return stacks


def write_folded(stacks: Counter[str], path: Path) -> Path:
    path.write_text("".join(f"{stack} {count}\n" for stack, count in stacks.most_common()))
    return path


def shares(stacks: Counter[str]) -> pd.Series:
    """Each function's inclusive share of the samples (a function counted once per stack)."""
    total = sum(stacks.values())
    counts: Counter[str] = Counter()
    for stack, count in stacks.items():
        for frame in set(stack.split(";")):
            counts[frame] += count
    return pd.Series(counts, dtype=float) / total if total else pd.Series(dtype=float)


def growth(a: Counter[str], b: Counter[str], top: int = 15) -> pd.DataFrame:
    """The functions whose share of the server's CPU grew most from A to B (percentage points)."""
    frame = pd.concat([shares(a).rename("share_a"), shares(b).rename("share_b")], axis=1).fillna(0.0) * 100
    frame["growth"] = frame["share_b"] - frame["share_a"]
    frame = frame[frame["growth"] > 0].sort_values("growth", ascending=False).head(top)
    return frame.rename_axis("function").reset_index()
