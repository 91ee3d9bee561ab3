"""Benchmark: the arm64 bundle under emulation (qemu-user-static) beside the native x86-64 one, same run.

Needs root and what `.ci/arm64` leaves in its cache: the arm64 root with the bundle it built
(`$KIOSK_CI_CACHE/arm64-bookworm-1/kiosk-run/kiosk`), and a native bundle (`dist/kiosk`, from
`.ci/bundle` or `pyinstaller kiosk.spec`). Interleaved, RUNS times each:
- `kiosk selftest` (offscreen: a tap stored and scored, a screenshot);
- cold start of the bundle's `kiosk run --windowed` (offscreen 800x480) to its first frame ("ready").
Prints medians and the arm64/native ratio. Emulation is not a Raspberry Pi: the ratio says how much slower
qemu makes this code on this machine, nothing about a Pi's speed.

    sudo python bench/arm64.py [RUNS]      # default 3
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOT = Path(os.environ.get("KIOSK_CI_CACHE", "/var/cache/kiosk-ci")) / "arm64-bookworm-1"
CLEAN = [
    "env",
    "-i",
    "PATH=/usr/bin:/bin",
    "LANG=C.UTF-8",
    "SDL_VIDEODRIVER=offscreen",
    "KIOSK_REPORT_READY=1",
]


def in_root(*command: str, home: str) -> list[str]:
    """The command in the arm64 root: a private mount namespace with /proc and /dev, a clean environment."""
    script = 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" && exec chroot "$0" "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(ROOT),
            *CLEAN, f"HOME={home}", *command]  # fmt: skip


def native(*command: str, home: str) -> list[str]:
    return [*CLEAN, f"HOME={home}", *command]


def time_run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def time_start(command: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"{command} did not start: {line!r}")
        return time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    arm_bundle = ROOT / "kiosk-run" / "kiosk" / "kiosk"
    x86_bundle = REPO / "dist" / "kiosk" / "kiosk"
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():  # as .ci/arm64 does
        if not Path("/proc/sys/fs/binfmt_misc/status").exists():
            subprocess.run(
                ["mount", "-t", "binfmt_misc", "binfmt_misc", "/proc/sys/fs/binfmt_misc"], check=True
            )
        subprocess.run(["update-binfmts", "--enable", "qemu-aarch64"], check=True)
    for path, how in ((arm_bundle, ".ci/arm64"), (x86_bundle, ".ci/bundle")):
        if not path.exists():
            raise SystemExit(f"{path}: missing; run {how} first")
    work = ROOT / "kiosk-run" / "bench"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    arm_home, x86_home = "/kiosk-run/bench/home", str(work / "home-x86")
    Path(x86_home).mkdir()
    (work / "home").mkdir()
    arm_data, x86_data = "/kiosk-run/bench/arm", str(work / "x86")
    init = ["init", "--store-id", "bench", "--device-id", "till-1"]
    subprocess.run(in_root("/kiosk-run/kiosk/kiosk", *init, "--data-dir", arm_data, home=arm_home), check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run(native(str(x86_bundle), *init, "--data-dir", x86_data, home=x86_home), check=True,
                   capture_output=True)  # fmt: skip
    run_args = ["run", "--windowed", "--size", "800x480", "--data-dir"]
    cases = {
        "selftest": (
            lambda: time_run(in_root("/kiosk-run/kiosk/kiosk", "selftest", home=arm_home)),
            lambda: time_run(native(str(x86_bundle), "selftest", home=x86_home)),
        ),
        "cold start to first frame": (
            lambda: time_start(in_root("/kiosk-run/kiosk/kiosk", *run_args, arm_data, home=arm_home)),
            lambda: time_start(native(str(x86_bundle), *run_args, x86_data, home=x86_home)),
        ),
    }
    for arm, x86 in cases.values():  # page cache warm once: cold start means a new process
        arm(), x86()
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in cases}
    for _ in range(runs):
        for name, (arm, x86) in cases.items():
            results[name][0].append(arm())
            results[name][1].append(x86())
    print(f"arm64 under qemu-user-static beside native x86-64, bundles, {runs} runs each, median")
    for name, (arm_times, x86_times) in results.items():
        a, x = statistics.median(arm_times), statistics.median(x86_times)
        print(f"  {name:<26} arm64 {a * 1000:7.0f} ms   native {x * 1000:6.0f} ms   ratio {a / x:4.1f}x")
    subprocess.run(["rm", "-rf", str(work)], check=True)


if __name__ == "__main__":
    main()
