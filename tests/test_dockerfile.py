"""The Dockerfile, read statically (no Docker engine here): it must agree with pyproject.toml.

`make lint` runs hadolint on it; these tests check what hadolint cannot know: that the image
installs this project and only what pyproject.toml declares, runs as a non-root user, probes
/healthz, carries the migrations, and that the build context holds what it copies.
"""

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# pip options that take a value, so their value is not mistaken for a package.
PIP_VALUE_OPTIONS = {"--wheel-dir", "-w", "--find-links", "-f", "--python", "--cache-dir"}
# Ways to bring in packages or pins that pyproject.toml does not declare.
PIP_FORBIDDEN_OPTIONS = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    stage: int


def parse_dockerfile(text: str) -> list[Instruction]:
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        if not line.strip():
            continue
        keyword, _, arguments = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split()), stage))
    return instructions


INSTRUCTIONS = parse_dockerfile((ROOT / "Dockerfile").read_text())
FINAL_STAGE = max(instruction.stage for instruction in INSTRUCTIONS)


def of(keyword: str, stage: int | None = None) -> list[Instruction]:
    return [
        instruction
        for instruction in INSTRUCTIONS
        if instruction.keyword == keyword and (stage is None or instruction.stage == stage)
    ]


def shell_commands() -> list[tuple[int, list[str]]]:
    commands = []
    for run in of("RUN"):
        for command in re.split(r"&&|;|\|\|", run.arguments):
            words = shlex.split(command)
            if words:
                commands.append((run.stage, words))
    return commands


def pip_invocations() -> list[tuple[int, str, list[str], list[str]]]:
    """(stage, subcommand, options, positional arguments) of every pip call."""
    found = []
    for stage, words in shell_commands():
        if words[0] not in {"pip", "pip3"} and words[:3] != ["python", "-m", "pip"]:
            continue
        rest = words[3:] if words[0] == "python" else words[1:]
        subcommand, options, positional = "", [], []
        skip_value = False
        for word in rest:
            if skip_value:
                skip_value = False
            elif word.startswith("-"):
                options.append(word.split("=", 1)[0])
                skip_value = word in PIP_VALUE_OPTIONS
            elif not subcommand:
                subcommand = word
            else:
                positional.append(word)
        found.append((stage, subcommand, options, positional))
    return found


def copies(stage: int) -> list[tuple[list[str], str, str]]:
    """(sources, destination, working directory) of each COPY in a stage."""
    result = []
    workdir = "/"
    for instruction in INSTRUCTIONS:
        if instruction.stage != stage:
            continue
        if instruction.keyword == "WORKDIR":
            workdir = instruction.arguments
        elif instruction.keyword == "COPY":
            *sources, destination = instruction.arguments.split()
            result.append((sources, destination, workdir))
    return result


def dockerignore_excludes(path: str) -> bool:
    excluded = False
    parts = path.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/").removeprefix("**/")
        if any(fnmatch.fnmatch(candidate, pattern) for candidate in candidates) or any(
            fnmatch.fnmatch(part, pattern) for part in parts
        ):
            excluded = not negated
    return excluded


class TestStages:
    def test_it_is_multi_stage_on_a_slim_python_that_pyproject_allows(self):
        images = [instruction.arguments.split()[0] for instruction in of("FROM")]
        assert len(images) >= 2
        minimum = PROJECT["requires-python"].removeprefix(">=")
        for image in images:
            match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(-\w+)?", image)
            assert match, f"{image} is not a pinned slim Python image"
            version = (int(match.group(1)), int(match.group(2)))
            assert version >= tuple(int(part) for part in minimum.split("."))

    def test_the_final_stage_installs_nothing_and_has_no_compilers(self):
        final = [run.arguments for run in of("RUN", FINAL_STAGE)]
        assert not any(re.search(r"\b(pip|apt-get|apt|apk)\b", command) for command in final)
        assert not any(
            re.search(r"\b(gcc|g\+\+|clang|build-essential|make)\b", command) for command in final
        )
        assert any("--from=builder" in copy.arguments for copy in of("COPY", FINAL_STAGE))


class TestWhatItInstalls:
    def test_it_builds_the_project_itself_so_dependencies_come_from_pyproject(self):
        wheels = [call for call in pip_invocations() if call[1] == "wheel"]
        assert wheels, "the builder stage builds wheels"
        for _stage, _subcommand, options, positional in wheels:
            assert positional == ["."]
            assert "--no-deps" not in options

    def test_it_installs_only_the_project_from_the_wheels_it_built(self):
        wheel_name = PROJECT["name"].replace("-", "_")
        installs = [call for call in pip_invocations() if call[1] == "install"]
        assert installs
        for _stage, _subcommand, options, positional in installs:
            assert "--no-index" in options, "nothing may come from an index at install time"
            for package in positional:
                assert re.fullmatch(rf"/\S+/{wheel_name}-\*?[^/]*\.whl", package), package

    @pytest.mark.parametrize("stage_call", range(len(pip_invocations())))
    def test_no_pip_call_pins_or_adds_packages(self, stage_call):
        _stage, _subcommand, options, positional = pip_invocations()[stage_call]
        assert not PIP_FORBIDDEN_OPTIONS & set(options)
        for package in positional:
            assert not re.search(r"[=<>~\[]", package), f"{package} pins or adds extras"

    def test_the_build_copies_what_the_package_is_made_of(self):
        builder = [source for sources, _, _ in copies(0) for source in sources]
        assert "pyproject.toml" in builder
        for package in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
            assert package.rstrip("*") in builder


class TestRuntime:
    def test_it_runs_as_a_non_root_user(self):
        users = [instruction.arguments for instruction in of("USER", FINAL_STAGE)]
        assert users
        user = users[-1].split(":")[0]
        assert user not in {"root", "0"}
        last_user = max(i for i, x in enumerate(INSTRUCTIONS) if x.keyword == "USER")
        last_cmd = max(i for i, x in enumerate(INSTRUCTIONS) if x.keyword == "CMD")
        assert last_user < last_cmd
        if user.isdigit():
            created = " ".join(run.arguments for run in of("RUN", FINAL_STAGE))
            assert f"--uid {user}" in created

    def test_alembic_ini_and_migrations_sit_in_the_working_directory(self):
        workdirs = [instruction.arguments for instruction in of("WORKDIR", FINAL_STAGE)]
        assert workdirs[-1] == "/app"
        placed = {
            # Docker: into a directory (trailing slash or `.`) keeps the name, else renames.
            Path(workdir, destination, Path(source).name).as_posix()
            if destination.endswith("/") or destination == "."
            else Path(workdir, destination).as_posix()
            for sources, destination, workdir in copies(FINAL_STAGE)
            for source in sources
            if not source.startswith("--")
        }
        assert {"/app/alembic.ini", "/app/migrations"} <= placed

    def test_the_healthcheck_probes_liveness_without_curl(self):
        [healthcheck] = of("HEALTHCHECK", FINAL_STAGE)
        assert "/healthz" in healthcheck.arguments
        assert "curl" not in healthcheck.arguments
        assert "CMD" in healthcheck.arguments

    def test_the_default_command_is_the_cli_serving_after_migrating(self):
        [command] = of("CMD", FINAL_STAGE)
        # Exec form, so that the server is PID 1 and receives SIGTERM itself.
        words = json.loads(command.arguments)
        assert words[0] in PROJECT["scripts"]
        assert words[1] == "serve"
        assert "--no-migrate" not in words
        # The worker count comes from BILLING_WORKERS, not from the image.
        assert "--workers" not in words
        # Inside a container the server must listen beyond the container's loopback.
        assert words[words.index("--host") + 1] == "0.0.0.0"  # noqa: S104


class TestBuildContext:
    def test_every_copied_file_exists_and_is_not_ignored(self):
        for stage in range(FINAL_STAGE + 1):
            for sources, _, _ in copies(stage):
                for source in sources:
                    if source.startswith("--"):
                        continue
                    if any(flag.startswith("--from=") for flag in sources):
                        break
                    assert (ROOT / source).exists(), source
                    assert not dockerignore_excludes(source.rstrip("/")), source

    @pytest.mark.parametrize("path", [".git", ".venv", "tests", "billing.db", ".env"])
    def test_local_state_and_secrets_stay_out_of_the_context(self, path):
        assert dockerignore_excludes(path)
