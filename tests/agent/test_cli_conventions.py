"""`sohoa` as a Debian command: --version, exit codes in --help, a closed pipe and Ctrl-C without a
traceback, `imaging clean` over files and folders (a progress bar on a terminal only), the first-use
compile notice, and bash completion. Real processes, real pipes, a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from firmware_agent import exit_codes
from firmware_agent.cli import main
from firmware_agent.metrics import version
from firmware_agent.pageio import read_image, write_image_atomic

ROOT = Path(__file__).resolve().parents[2]
SOHOA = [sys.executable, "-m", "firmware_agent"]


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def _page(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = np.full((260, 200), 235, np.uint8)
    for row in range(30, 230, 14):
        page[row:row + 4, 20:20 + int(rng.integers(100, 160))] = 25
    return page


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pages")
    for i in range(12):
        write_image_atomic(root / "folder" / ("sub" if i % 2 else "") / f"p{i:02d}.png", _page(i), dpi=150)
    write_image_atomic(root / "single.png", _page(99), dpi=150)
    (root / "folder" / "notes.txt").write_text("not an image")
    return root


def test_version_and_exit_codes_in_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"sohoa {version()}"
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    for code, words in ((2, "wrong command line"), (3, "config file cannot be used"), (4, "state folder is in use"),
                        (5, "no scanner found"), (130, "Ctrl-C")):
        assert re.search(rf"^\s+{code}\s+.*{words}", help_text, re.M), (code, help_text)
    assert main([]) == exit_codes.USAGE
    with pytest.raises(SystemExit) as done:
        main(["no-such-command"])
    assert done.value.code == exit_codes.USAGE


def test_a_closed_pipe_ends_quietly(pages):
    files = " ".join(str(p) for p in sorted((pages / "folder").rglob("*.png")) * 4)
    done = subprocess.run(["bash", "-c", f"{' '.join(SOHOA)} imaging analyze {files} | head -n 1; "
                                         "echo status=${PIPESTATUS[0]} >&2"],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600)
    assert len(done.stdout.splitlines()) == 1 and '"skew_deg"' in done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert f"status={exit_codes.BROKEN_PIPE}" in done.stderr


def test_ctrl_c_ends_quietly(pages):
    # far more lines than a pipe holds (64 KiB): the command cannot finish before the signal, however
    # late this process is scheduled to read its first line
    files = [str(p) for p in sorted((pages / "folder").rglob("*.png"))] * 300
    # as from a terminal: SIGINT at its default, whatever an earlier test left this worker process ignoring
    # (an ignored SIGINT is inherited, and Python then installs no KeyboardInterrupt for it)
    proc = subprocess.Popen([*SOHOA, "imaging", "analyze", *files], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(), cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert '"skew_deg"' in proc.stdout.readline()  # it is working through the files
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == exit_codes.INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_ctrl_c_inside_a_c_extension_is_still_ctrl_c(monkeypatch):
    """Ctrl-C while numba loads a cached kernel surfaces as a SystemError caused by the KeyboardInterrupt."""
    from firmware_agent.commands import imaging as imaging_commands

    def interrupted_in_c(_args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("<built-in function load> returned a result with an exception set") from exc

    def interrupted_deeper(_args):
        # numba's kernel loads nest: each level wraps the one below in its own SystemError
        try:
            interrupted_in_c(_args)
        except SystemError as inner:
            try:
                raise SystemError("<function _numba_unpickle> returned a result with an exception set") from inner
            except SystemError as middle:
                raise SystemError("CPUDispatcher(<function _sauvola>) returned a result with an exception set") \
                    from middle

    def plain_error(_args):
        raise SystemError("a real fault")

    monkeypatch.setattr(imaging_commands, "cmd_analyze", interrupted_in_c)
    assert main(["imaging", "analyze", "x.png"]) == exit_codes.INTERRUPTED
    monkeypatch.setattr(imaging_commands, "cmd_analyze", interrupted_deeper)
    assert main(["imaging", "analyze", "x.png"]) == exit_codes.INTERRUPTED
    monkeypatch.setattr(imaging_commands, "cmd_analyze", plain_error)
    with pytest.raises(SystemError, match="a real fault"):
        main(["imaging", "analyze", "x.png"])


def test_clean_many_files_and_folders_piped(pages, tmp_path):
    out, bit = tmp_path / "out", tmp_path / "bitonal"
    done = subprocess.run([*SOHOA, "imaging", "clean", str(pages / "folder"), str(pages / "single.png"),
                           str(pages / "absent.png"), "--out-dir", str(out), "--bitonal", str(bit)],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600)
    assert done.returncode == exit_codes.FAILURE  # the absent file
    assert "absent.png" in done.stderr and "\r" not in done.stderr and "\033[" not in done.stderr
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert len(written) == 13 and "single.jpg" in written
    assert "folder/sub/p01.jpg" in written and "folder/p00.jpg" in written
    colour, dpi = read_image(out / "folder" / "sub" / "p03.jpg")
    assert dpi == 150 and colour.ndim == 2  # a gray page stays gray
    assert len(list(bit.rglob("*.png"))) == 13
    # one line per page when piped, then the count
    assert len([line for line in done.stderr.splitlines() if ": skew " in line]) == 13
    assert "Cleaned 13/13 pages, 1 failed" in done.stderr


def test_clean_draws_a_progress_bar_on_a_terminal(pages, tmp_path):
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([*SOHOA, "imaging", "clean", str(pages / "folder"), "--out-dir", str(tmp_path / "o")],
                                stdout=subprocess.DEVNULL, stderr=slave, env=_env(COLUMNS="100"), cwd=ROOT)
        os.close(slave)
        seen = b""
        end = time.monotonic() + 600
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the terminal's other side closed: the process ended
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=60) == 0
    finally:
        os.close(master)
    text = seen.decode("utf-8", "replace")
    assert "\r" in text and "12/12" in text and "[" + "#" * 10 in text, text
    assert ": skew " not in text  # the bar replaces the per-page lines


def test_the_first_use_says_the_kernels_are_compiling(tmp_path, pages, monkeypatch, capsys):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    from firmware_agent.kernel_cache import kernels_cached

    assert not kernels_cached()
    assert main(["imaging", "analyze", str(pages / "single.png")]) == 0
    assert "Compiling the image kernels on first use" in capsys.readouterr().err
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
    if kernels_cached():  # this tree's own cache (the suite has compiled into it): no notice
        assert main(["imaging", "analyze", str(pages / "single.png")]) == 0
        assert "Compiling" not in capsys.readouterr().err


def test_bash_completion(tmp_path):
    script = subprocess.run([*SOHOA, "completion"], capture_output=True, text=True, env=_env(), cwd=ROOT,
                            timeout=120)
    assert script.returncode == 0 and "complete" in script.stdout and "sohoa" in script.stdout
    answer = tmp_path / "answer"
    done = subprocess.run([*SOHOA], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=_env(_ARGCOMPLETE="1", COMP_LINE="sohoa con", COMP_POINT="9",
                                   _ARGCOMPLETE_STDOUT_FILENAME=str(answer)))
    assert done.returncode == 0
    assert answer.read_text().split() == ["config"]


def test_run_on_a_port_in_use_ends_with_one_line(tmp_path):
    """A value the check cannot know is wrong (the port is taken now): one line and status 1, no traceback."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = tmp_path / "sohoa.toml"
        config.write_text(f"""[agent]
device_id = "xa-test-01"
state_dir = "{tmp_path / 'state'}"
min_free_mb = 10
[records]
enabled = false
[climate]
enabled = false
[scanner]
device = "test:1"
[web]
port = {taken.getsockname()[1]}
""", encoding="utf-8")
        # an empty kernel cache, as after an install: the agent says why its first start is slow
        done = subprocess.run([*SOHOA, "run", "--config", str(config)], capture_output=True, text=True,
                              env=_env(NUMBA_CACHE_DIR=str(tmp_path / "empty-cache")), cwd=ROOT, timeout=300)
    assert "Compiling the image kernels on first use" in done.stdout
    assert done.returncode == exit_codes.FAILURE
    assert "Không khởi động được / Cannot start" in done.stderr and "address already in use" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def _sohoa(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*SOHOA, *args], capture_output=True, text=True, env=_env(), cwd=cwd, timeout=120)


def test_only_a_wrong_command_line_exits_2(tmp_path):
    """Each error ends with its own status (firmware_agent/exit_codes.py), as real processes, no traceback."""
    state = tmp_path / "state"
    state.mkdir()
    broken = tmp_path / "broken.toml"
    broken.write_text("[scanner]\npoll_ms = 'fast'\n")
    cases = [
        # a month that is no month: the parser's usage error
        (("climate", "report", "--month", "2026-13", "--config", str(broken)), exit_codes.USAGE, "Tháng không hợp lệ"),
        # the command line is right, the config file is not
        (("climate", "report", "--month", "2026-11", "--config", str(broken)), exit_codes.CONFIG, "scanner.poll_ms"),
        (("sensors", "--config", str(broken), "--no-usb", "--sysfs-root", str(tmp_path)), exit_codes.CONFIG,
         "scanner.poll_ms"),
        # nothing to check: the command ran and failed
        (("journal", "check", "--state-dir", str(state)), exit_codes.FAILURE, ""),
        (("sip", "verify", str(tmp_path / "nosuch.zip")), exit_codes.FAILURE, "nosuch.zip"),
        (("climate", "metrics", "--temp", "200", "--rh", "50"), exit_codes.USAGE, ""),
    ]
    for args, status, words in cases:
        res = _sohoa(*args, cwd=tmp_path)
        assert res.returncode == status, (args, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr and words in res.stderr, (args, res.stderr)
    assert "usage: sohoa climate report" in _sohoa("climate", "report", "--month", "x", cwd=tmp_path).stderr


def test_every_command_help_lists_the_exit_statuses(capsys):
    for args in (["climate", "report", "--help"], ["journal", "check", "--help"], ["run", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(args)
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert re.search(r"^\s+3\s+.*config file cannot be used", out, re.M), (args, out)
        assert re.search(r"^\s+1\s+.*the command ran and failed", out, re.M), (args, out)
