"""The runtime's builtin-operator codes and names against TFLite's own schema (the one definition
of them; export/tflm.py's BUILTIN_NAMES, which host/perf.py names operators with, is read from it).

The C side writes them twice: the FS_BUILTIN_* enum of firmware/runtime/fs_schema.h and the names
of firmware/runtime/fs_ops.c (the K(...) table of supported operators and fs_other_names, the
unsupported ones a refusal names). Both are parsed here and every code and name must be the
schema's BuiltinOperator; the FS_OPT_* values likewise against its BuiltinOptions."""
import re

from export.tflm import BUILTIN_NAMES, schema
from tests.support import ROOT

RUNTIME = ROOT / "firmware/runtime"


def _enum(text: str, prefix: str) -> dict[str, int]:
    """NAME -> value for every `PREFIX_NAME = value` of a C header."""
    return {m[1]: int(m[2]) for m in re.finditer(rf"\b{prefix}_(\w+)\s*=\s*(\d+)", text)}


def _block(text: str, start: str) -> str:
    """The initializer of the array whose definition contains START, up to its closing `};`."""
    i = text.index(start)
    return text[i:text.index("};", i)]


def c_tables() -> tuple[dict[str, int], list[tuple[str, str]], list[tuple[int, str]]]:
    header = (RUNTIME / "fs_schema.h").read_text()
    ops = (RUNTIME / "fs_ops.c").read_text()
    kinds = _block(ops, "fs_op_kinds[] = {")
    supported = re.findall(r'\bK\(\s*FS_BUILTIN_(\w+)\s*,\s*"([^"]*)"', kinds)
    # A row the pattern misses would go unchecked: count the rows another way.
    assert len(supported) == len(re.findall(r"\bK\(", kinds)) > 0
    others = _block(ops, "fs_other_names[] = {")
    other = [(int(c), n) for c, n in re.findall(r'\{\s*(\d+)\s*,\s*"([^"]*)"\s*\}', others)]
    assert len(other) == others.count('"') // 2 > 0
    return _enum(header, "FS_BUILTIN"), supported, other


def test_fs_builtin_enum_is_the_schema():
    codes, _, _ = c_tables()
    assert len(codes) >= 19
    wrong = {n: (v, getattr(schema.BuiltinOperator, n, None)) for n, v in codes.items()
             if getattr(schema.BuiltinOperator, n, None) != v}
    assert not wrong, f"FS_BUILTIN_* (fs_schema.h) != schema BuiltinOperator: {wrong}"


def test_op_table_names_are_the_schema_names():
    codes, supported, _ = c_tables()
    for enum_name, name in supported:
        assert enum_name in codes, f"fs_ops.c: FS_BUILTIN_{enum_name} not in fs_schema.h"
        assert BUILTIN_NAMES[codes[enum_name]] == name, (enum_name, name)
    assert len({n for n, _ in supported}) == len(supported), "an operator registered twice"


def test_names_of_unsupported_builtins_are_the_schema_names():
    codes, supported, other = c_tables()
    wrong = [(c, n, BUILTIN_NAMES.get(c)) for c, n in other if BUILTIN_NAMES.get(c) != n]
    assert not wrong, f"fs_other_names (fs_ops.c) != schema BuiltinOperator: {wrong}"
    shadowed = {codes[e] for e, _ in supported} & {c for c, _ in other}
    assert not shadowed, f"supported operators also in fs_other_names: {shadowed}"


def test_fs_opt_enum_is_the_schema_builtin_options():
    """FS_OPT_POOL_2D is Pool2DOptions, FS_OPT_REDUCER ReducerOptions, FS_OPT_NONE NONE: the
    C name without underscores is the schema's name without its "Options" suffix."""
    opts = _enum((RUNTIME / "fs_schema.h").read_text(), "FS_OPT")
    assert len(opts) >= 17
    schema_opts = {k.removesuffix("Options").lower(): v
                   for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}
    wrong = {n: (v, schema_opts.get(n.replace("_", "").lower()))
             for n, v in opts.items() if schema_opts.get(n.replace("_", "").lower()) != v}
    assert not wrong, f"FS_OPT_* (fs_schema.h) != schema BuiltinOptions: {wrong}"
