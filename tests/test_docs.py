"""The project documents itself: the guide covers every route and error code of the generated
OpenAPI document, local links resolve, and nothing points outside the repository."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "api.md"
README = ROOT / "README.md"
OPENAPI = json.loads((ROOT / "openapi" / "openapi.json").read_text())
SKIPPED_FOLDERS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
SKIPPED_FOLDERS |= {".pytest_cache", "billing.egg-info"}


def operations() -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, by_method in OPENAPI["paths"].items()
        for method in by_method
    ]


def error_codes() -> set[str]:
    codes: set[str] = set()
    for by_method in OPENAPI["paths"].values():
        for operation in by_method.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    codes.update(re.findall(r"`([a-z_]+)`", response.get("description", "")))
    return codes


def same_shape(text: str) -> str:
    # `{card_id}` in the document, `{id}` in the guide's tables.
    return re.sub(r"\{[^}]*\}", "{}", text)


@pytest.mark.parametrize("operation", operations())
def test_the_guide_documents_every_operation(operation):
    assert f"`{same_shape(operation)}`" in same_shape(GUIDE.read_text()), operation


def test_the_guide_names_every_error_code():
    guide = GUIDE.read_text()
    missing = sorted(code for code in error_codes() if f"`{code}`" not in guide)
    assert not missing


def test_the_readme_starts_with_the_two_commands_and_links_the_guide():
    readme = README.read_text()
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()]
    assert commands == ["make run", "make test"]
    assert "(docs/api.md)" in readme


@pytest.mark.parametrize("document", [README, GUIDE], ids=lambda path: path.name)
def test_local_links_resolve(document):
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text()):
        if "://" not in target:
            assert (document.parent / target).exists(), target


def test_nothing_points_outside_the_repository():
    outside = "/".join(["..", "shared"])
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*")
        if path.is_file()
        and not SKIPPED_FOLDERS.intersection(path.relative_to(ROOT).parts)
        and outside in path.read_text(errors="ignore")
    ]
    assert not offenders
