"""The typed stub (__init__.pyi) and the generated module stay in step: every public name, class,
method and parameter of one is in the other, and the wheel ships the stub and py.typed."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any

import pytest

import opentelemetry_parquet

PACKAGE = Path(opentelemetry_parquet.__file__).parent
STUB = PACKAGE / "__init__.pyi"


def _stub() -> ast.Module:
    return ast.parse(STUB.read_text(encoding="utf-8"))


def _stub_classes() -> dict[str, ast.ClassDef]:
    return {node.name: node for node in _stub().body if isinstance(node, ast.ClassDef)}


def _stub_methods(cls: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in cls.body if isinstance(node, ast.FunctionDef)}


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, str]]:
    """(name, kind) of every parameter, in order, with inspect's kind names."""
    args = fn.args
    params = [(a.arg, "POSITIONAL_ONLY") for a in args.posonlyargs]
    params += [(a.arg, "POSITIONAL_OR_KEYWORD") for a in args.args]
    if args.vararg:
        params.append((args.vararg.arg, "VAR_POSITIONAL"))
    params += [(a.arg, "KEYWORD_ONLY") for a in args.kwonlyargs]
    if args.kwarg:
        params.append((args.kwarg.arg, "VAR_KEYWORD"))
    return params


def _runtime_params(fn: Any) -> list[tuple[str, str]]:
    return [(p.name, p.kind.name) for p in inspect.signature(fn).parameters.values()]


def _public_methods(cls: type) -> set[str]:
    """Public methods of a generated class (its own and its generated Protocol base's)."""
    return {
        name
        for name, value in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and value.__module__ == cls.__module__
    }


def test_the_wheel_ships_the_stub_and_py_typed() -> None:
    assert STUB.is_file(), f"{STUB} is missing from the installed package"
    assert (PACKAGE / "py.typed").is_file()


def test_the_stub_exports_what_the_module_exports() -> None:
    (stub_all,) = (
        ast.literal_eval(node.value)
        for node in _stub().body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    )
    assert sorted(stub_all) == sorted(opentelemetry_parquet.__all__)
    assert sorted(_stub_classes()) == sorted(opentelemetry_parquet.__all__)
    for name in opentelemetry_parquet.__all__:
        assert inspect.isclass(getattr(opentelemetry_parquet, name)), name


@pytest.mark.parametrize("name", ["OtlpLibrary"])
def test_methods_and_parameters_match(name: str) -> None:
    runtime = getattr(opentelemetry_parquet, name)
    stub = _stub_methods(_stub_classes()[name])
    assert sorted(set(stub) - {"__init__"}) == sorted(_public_methods(runtime))
    for method, fn in stub.items():
        assert _stub_params(fn) == _runtime_params(getattr(runtime, method)), f"{name}.{method}"
        # Optional runtime parameters (UniFFI's sentinel default) are optional (None) in the stub.
        runtime_defaults = [
            p.name
            for p in inspect.signature(getattr(runtime, method)).parameters.values()
            if p.default is not inspect.Parameter.empty
        ]
        stub_defaults = [a.arg for a in fn.args.args[len(fn.args.args) - len(fn.args.defaults) :]]
        assert stub_defaults == runtime_defaults, f"{name}.{method}"
        assert all(isinstance(d, ast.Constant) and d.value is None for d in fn.args.defaults)


def test_parquet_config_fields_match() -> None:
    stub_class = _stub_classes()["ParquetConfig"]
    init = _stub_methods(stub_class)["__init__"]
    runtime_params = _runtime_params(opentelemetry_parquet.ParquetConfig.__init__)
    assert _stub_params(init) == runtime_params
    assert all(kind == "KEYWORD_ONLY" for _, kind in runtime_params[1:])
    assert all(isinstance(d, ast.Constant) and d.value is None for d in init.args.kw_defaults)
    fields = [
        node.target.id
        for node in stub_class.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    ]
    assert fields == [name for name, _ in runtime_params[1:]]
    # Every field defaults to None at runtime too.
    assert vars(opentelemetry_parquet.ParquetConfig()) == dict.fromkeys(fields)


def test_error_variants_match() -> None:
    stub_class = _stub_classes()["OtlpError"]
    stub_variants = [node.name for node in stub_class.body if isinstance(node, ast.ClassDef)]
    for node in stub_class.body:
        if isinstance(node, ast.ClassDef):
            assert [ast.unparse(b) for b in node.bases] == ["OtlpError"], node.name
    error = opentelemetry_parquet.OtlpError
    runtime_variants = [
        name for name, value in vars(error).items() if inspect.isclass(value) and issubclass(value, error)
    ]
    assert sorted(stub_variants) == sorted(runtime_variants)
    assert [ast.unparse(b) for b in stub_class.bases] == ["Exception"]
    assert issubclass(error, Exception)
