#!/usr/bin/env python3
"""The Python half of scripts/bench-compare (run it through that script, which sets up the
virtual environment, builds dat and cleans up).

Subcommands:
  gen     WORK [--quick] [--w5]            generate the workloads under WORK (reused when their
                                           spec matches: WORK/<w>/spec.json)
  anchor  TOOL WORKLOAD INPUT OUT          one anchor run (DuckDB or Polars); this is the process
                                           /usr/bin/time measures
  bench   WORK --dat BIN --runs N --docs DIR [--quick] [--w5]
                                           every measured run, the table, docs/benchmarks.md and
                                           docs/benchmarks.png

Only the standard library is imported at the top, so an anchor process loads just its own
engine (DuckDB or Polars) and its peak RSS is that engine's plus the interpreter's.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# The ten columns of W1, W2, W3, W4 and W5 (W2 files drop, add and reorder some).
BASE_COLUMNS = ["id", "lot", "wafer", "site", "x_mm", "y_mm", "cd_nm", "tool", "date", "ts"]
EXTRA_COLUMN = "operator"
SOURCE_COLUMNS = {"_source_file", "_source_table", "_source_row"}  # added by dat
TOOLS = ["dat", "duckdb", "polars"]
TOOL_LABEL = {"dat": "dat", "duckdb": "DuckDB", "polars": "Polars"}
WORKLOAD_TITLE = {
    "W1": "one CSV",
    "W2": "drifted CSVs",
    "W3": "table_availability, small CSVs",
    "W4": "xlsx workbook",
    "W5": "one big CSV",
}
SEED = 20240531


def die(msg):
    print(f"bench-compare: error: {msg}", file=sys.stderr)
    sys.exit(1)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Workload sizes
# ---------------------------------------------------------------------------------------------


def specs(quick, w5):
    """What each workload holds. --quick divides every workload by 20."""
    d = 20 if quick else 1
    s = {
        "W1": {"rows": 5_000_000 // d},
        "W2": {"files": 500 // d, "rows_per_file": 10_000},
        "W3": {"files": 1_000 // d, "rows_per_file": 5},
        "W4": {"sheets": 5, "rows_per_sheet": 100_000 // d},
    }
    if w5:
        gib = float(os.environ.get("BENCH_W5_GIB", "10"))
        s["W5"] = {"bytes": int(gib * 2**30) // d}
    for v in s.values():
        v["seed"] = SEED
        v["version"] = 4  # bump when the generator changes
    return s


# ---------------------------------------------------------------------------------------------
# Data generation (numpy for the random numbers, Polars to format and write the CSVs)
# ---------------------------------------------------------------------------------------------


def frame(seed_parts, start_id, n):
    """n rows of the ten base columns, from a generator seeded with seed_parts."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(list(seed_parts))
    days = rng.integers(0, 731, n)
    return pl.DataFrame(
        {
            "id": np.arange(start_id, start_id + n, dtype=np.int64),
            "lotn": rng.integers(0, 100_000, n),
            "wafer": rng.integers(1, 26, n),
            "site": rng.integers(0, 49, n),
            "x_mm": rng.uniform(-150.0, 150.0, n),
            "y_mm": rng.uniform(-150.0, 150.0, n),
            "cd_nm": rng.normal(45.0, 2.0, n),
            "tooln": rng.integers(1, 9, n),
            "days": days,
            "secs": days * 86_400 + rng.integers(0, 86_400, n),
        }
    ).select(
        "id",
        pl.format("LOT{}", pl.col("lotn").cast(pl.Utf8).str.zfill(5)).alias("lot"),
        "wafer",
        "site",
        pl.col("x_mm").round(4),
        pl.col("y_mm").round(4),
        pl.col("cd_nm").round(4),
        pl.format("CDSEM-{}", pl.col("tooln").cast(pl.Utf8).str.zfill(2)).alias("tool"),
        (pl.lit(dt.date(2024, 1, 1)) + pl.duration(days=pl.col("days"))).alias("date"),
        (pl.lit(dt.datetime(2024, 1, 1)) + pl.duration(seconds=pl.col("secs"))).alias("ts"),
    )


def write_csv(df, fh, sep=",", header=True):
    df.write_csv(
        fh,
        separator=sep,
        include_header=header,
        float_precision=4,
        date_format="%Y-%m-%d",
        datetime_format="%Y-%m-%dT%H:%M:%S",
    )


def drifted(i, df):
    """File i of W2/W3: columns missing, extra, reordered, a float in the int column `site`,
    and a delimiter, by i (every pattern occurs in any 105 consecutive files, most in 20).
    Returns (frame, separator, note)."""
    import numpy as np
    import polars as pl

    notes = []
    if i % 3 == 1:
        df = df.drop("tool")
        notes.append("no tool")
    elif i % 3 == 2:
        rng = np.random.default_rng([SEED, 7, i])
        ops = rng.integers(0, 1000, df.height)
        df = df.with_columns(pl.format("op{}", pl.Series(ops).cast(pl.Utf8).str.zfill(3)).alias(EXTRA_COLUMN))
        notes.append("+operator")
    if i % 7 == 3:
        df = df.with_columns((pl.col("site") + 0.5).alias("site"))
        notes.append("site float")
    if i % 4 == 3:
        rng = np.random.default_rng([SEED, 11, i])
        df = df.select([df.columns[k] for k in rng.permutation(len(df.columns))])
        notes.append("reordered")
    sep = ";" if i % 5 == 4 else ","
    return df, sep, notes


def sha256_files(paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


def dir_bytes(path):
    """Bytes of the files a run left, each file once: dat's export links the dataset (three
    names, one file), which counting by name tripled (W1: 551 MB for 276 on disk)."""
    files = {}
    for p in Path(path).rglob("*"):
        if p.is_file():
            st = p.stat()
            files[(st.st_dev, st.st_ino)] = st.st_size
    return sum(files.values())


def gen_w1(root, spec):
    path = root / "in" / "measurements.csv"
    path.parent.mkdir(parents=True)
    rows, chunk = spec["rows"], 1_000_000
    with open(path, "wb") as fh:
        for k, start in enumerate(range(0, rows, chunk)):
            write_csv(frame([spec["seed"], 1, k], start, min(chunk, rows - start)), fh, header=(k == 0))
    return {"rows": rows, "files": 1, "bytes": path.stat().st_size, "sha256": sha256_files([path]),
            "columns": BASE_COLUMNS}


def gen_many(root, spec, tag):
    folder = root / "in" / "data" if tag == 3 else root / "in"
    folder.mkdir(parents=True)
    n, per = spec["files"], spec["rows_per_file"]
    paths = []
    columns = set()
    for i in range(n):
        df, sep, _ = drifted(i, frame([spec["seed"], tag, i], i * per, per))
        columns.update(df.columns)
        p = folder / f"m{i:04d}.csv"
        with open(p, "wb") as fh:
            write_csv(df, fh, sep=sep)
        paths.append(p)
    ordered = [c for c in BASE_COLUMNS + [EXTRA_COLUMN] if c in columns]
    return {"rows": n * per, "files": n, "bytes": sum(p.stat().st_size for p in paths),
            "sha256": sha256_files(paths), "columns": ordered}


def gen_w4(root, spec):
    import xlsxwriter

    path = root / "in" / "workbook.xlsx"
    path.parent.mkdir(parents=True)
    # Default mode: strings go to the shared string table, as Excel writes them.
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": dt.datetime(2024, 1, 1)})  # the same bytes every time
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ts_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    per = spec["rows_per_sheet"]
    for s in range(spec["sheets"]):
        ws = wb.add_worksheet(f"Sheet{s + 1}")
        ws.write_row(0, 0, BASE_COLUMNS)
        df = frame([spec["seed"], 4, s], s * per, per)
        for r, row in enumerate(df.iter_rows(), start=1):
            ws.write_row(r, 0, row[:8])
            ws.write_datetime(r, 8, row[8], date_fmt)
            ws.write_datetime(r, 9, row[9], ts_fmt)
    wb.close()
    return {"rows": spec["sheets"] * per, "files": 1, "bytes": path.stat().st_size,
            "sha256": sha256_files([path]), "columns": BASE_COLUMNS}


def gen_w5(root, spec):
    need = spec["bytes"]
    free = shutil.disk_usage(root).free
    # The CSV, then one run at a time: dat's data dir holds about 1.25x the CSV's size (W1:
    # checkpoints 0.91x, the dataset 0.31x, its export a link), more than an anchor's Parquet;
    # with a margin for the file system.
    factor = 2.6
    if free < need * factor:
        die(f"W5 needs about {need * factor / 1e9:.0f} GB free under {root} (has {free / 1e9:.0f} GB): "
            "lower BENCH_W5_GIB or point --work-dir at a bigger disk")
    path = root / "in" / "big.csv"
    path.parent.mkdir(parents=True)
    chunk, rows, k = 250_000, 0, 0
    with open(path, "wb") as fh:
        while fh.tell() < need:
            write_csv(frame([spec["seed"], 5, k], rows, chunk), fh, header=(k == 0))
            rows += chunk
            k += 1
    return {"rows": rows, "files": 1, "bytes": path.stat().st_size, "sha256": None, "columns": BASE_COLUMNS}


GENERATORS = {
    "W1": gen_w1,
    "W2": lambda root, spec: gen_many(root, spec, 2),
    "W3": lambda root, spec: gen_many(root, spec, 3),
    "W4": gen_w4,
    "W5": gen_w5,
}


def generate(work, quick, w5):
    """Generates each workload under WORK/<w>/in unless WORK/<w>/spec.json says it is there
    already with the same spec. Returns {workload: facts}."""
    facts = {}
    for w, spec in specs(quick, w5).items():
        root = work / w
        marker = root / "spec.json"
        if marker.exists():
            saved = json.loads(marker.read_text())
            if saved.get("spec") == spec:
                log(f"{w}: reusing {root}/in ({saved['facts']['bytes'] / 1e6:.0f} MB)")
                facts[w] = saved["facts"]
                continue
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        t0 = time.monotonic()
        f = GENERATORS[w](root, spec)
        marker.write_text(json.dumps({"spec": spec, "facts": f}, indent=1))
        log(f"{w}: generated {f['files']} file(s), {f['rows']:,} rows, {f['bytes'] / 1e6:.1f} MB "
            f"in {time.monotonic() - t0:.0f} s")
        facts[w] = f
    return facts


# ---------------------------------------------------------------------------------------------
# Anchors: one process per measured run
# ---------------------------------------------------------------------------------------------


def sniff_sep(path):
    with open(path, "rb") as f:
        head = f.readline()
    return ";" if head.count(b";") > head.count(b",") else ","


def sheet_names(xlsx):
    with zipfile.ZipFile(xlsx) as z:
        text = z.read("xl/workbook.xml").decode("utf-8")
    return re.findall(r'<sheet [^>]*name="([^"]+)"', text)


def duckdb_excel_extension():
    """The path of an `excel` extension shipped for this DuckDB version by the PyPI package
    duckdb-ext-excel, or None."""
    import duckdb

    try:
        import duckdb_ext  # noqa: F401  (namespace package of duckdb-ext-*)
    except ImportError:
        return None
    for base in duckdb_ext.__path__:
        p = Path(base) / "extensions" / f"v{duckdb.__version__}" / "linux_amd64" / "excel.duckdb_extension"
        if p.exists():
            return p
    return None


def anchor(tool, workload, inp, out):
    inp = Path(inp)
    files = sorted(str(p) for p in inp.iterdir() if p.is_file())
    if tool == "duckdb":
        import duckdb

        if workload == "W4":
            ext = duckdb_excel_extension()
            if ext is None:
                die("no DuckDB excel extension for this DuckDB version")
            duckdb.sql(f"LOAD '{ext}'")
            union = " UNION ALL BY NAME ".join(
                f"SELECT * FROM read_xlsx('{files[0]}', sheet='{s}')" for s in sheet_names(files[0]))
            duckdb.sql(f"COPY ({union}) TO '{out}' (FORMAT parquet)")
        else:
            duckdb.sql(f"COPY (SELECT * FROM read_csv('{inp}/*.csv', union_by_name=true)) "
                       f"TO '{out}' (FORMAT parquet)")
    elif tool == "polars":
        import polars as pl

        if workload == "W4":
            frames = pl.read_excel(files[0], sheet_id=0, engine="calamine")
            pl.concat(list(frames.values()), how="diagonal_relaxed").write_parquet(out)
        else:
            lazy = [pl.scan_csv(f, separator=sniff_sep(f), try_parse_dates=True) for f in files]
            pl.concat(lazy, how="diagonal_relaxed").sink_parquet(out)
    else:
        die(f"unknown anchor {tool}")


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def parse_time_v(text):
    """Wall, user+sys CPU (s) and peak RSS (KiB) from GNU time -v."""
    def field(name):
        m = re.search(rf"^\s*{re.escape(name)}: (.+)$", text, re.M)
        if not m:
            raise ValueError(f"no '{name}' in time output:\n{text}")
        return m.group(1).strip()

    parts = [float(x) for x in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = 0.0
    for x in parts:
        wall = wall * 60 + x
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, cpu, int(field("Maximum resident set size (kbytes)"))


def busy_cpu_s():
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal …
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] if len(f) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


IDLE_WAIT_S = float(os.environ.get("BENCH_IDLE_WAIT", "120"))


def wait_idle(label):
    """Waits (up to BENCH_IDLE_WAIT s, default 120) until other processes use under 0.2 core,
    sampled over a second, so that a measured run does not share the machine. Goes on with a
    warning after that: the run's "others' CPU" figure tells how much it shared."""
    deadline = time.monotonic() + IDLE_WAIT_S
    warned = False
    while True:
        b0 = busy_cpu_s()
        time.sleep(1.0)
        busy = busy_cpu_s() - b0
        if busy < 0.2:
            return
        if time.monotonic() > deadline:
            log(f"warning: {label}: the machine is still busy ({busy:.1f} cores used by others); measuring anyway")
            return
        if not warned:
            log(f"{label}: waiting for the machine to be idle ({busy:.1f} cores busy)")
            warned = True


def measured(cmd, run_dir, label):
    """Runs cmd under /usr/bin/time -v; fails loudly (with the tool's stderr) on non-zero exit."""
    tv = run_dir / "time-v.txt"
    wait_idle(label)
    busy0 = busy_cpu_s()
    with open(run_dir / "stdout.txt", "wb") as so, open(run_dir / "stderr.txt", "wb") as se:
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", str(tv)] + [str(c) for c in cmd],
                             stdout=so, stderr=se, stdin=subprocess.DEVNULL)
    busy = busy_cpu_s() - busy0
    if rc != 0:
        sys.stderr.write(f"\n--- {label} failed (exit {rc}): {' '.join(map(str, cmd))}\n")
        for name in ("stdout.txt", "stderr.txt"):
            text = (run_dir / name).read_text(errors="replace")
            sys.stderr.write(f"--- its {name[:-4]} (last 4000 characters) ---\n{text[-4000:]}\n")
        status = [l for l in tv.read_text(errors="replace").splitlines() if "status" in l or "signal" in l]
        sys.stderr.write("--- /usr/bin/time: " + "; ".join(l.strip() for l in status) + "\n")
        die(f"{label} failed")
    wall, cpu, rss_kib = parse_time_v(tv.read_text())
    return wall, cpu, rss_kib, max(0.0, busy - cpu)


def check_output(parquets, facts, tool, label):
    """Rows and columns of a tool's output against the workload's: fails loudly when they differ."""
    import duckdb

    files = [str(p) for p in parquets]
    if not files:
        die(f"{label}: no Parquet output")
    con = duckdb.connect()
    src = f"read_parquet({files!r}, union_by_name=true)"
    rows = con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0]
    schema = [(r[0], str(r[1])) for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    con.close()
    names = [c for c, _ in schema]
    data_names = [c for c in names if not (tool == "dat" and c in SOURCE_COLUMNS)]
    if rows != facts["rows"]:
        die(f"{label}: {rows:,} rows in its output, the input has {facts['rows']:,}")
    if sorted(data_names) != sorted(facts["columns"]):
        die(f"{label}: output columns {names}, expected {facts['columns']}"
            + (" (+ _source_file, _source_table, _source_row)" if tool == "dat" else ""))
    return rows, schema


def median(xs):
    return statistics.median(xs) if xs else None


def bench_batch(work, w, facts, dat, runs, tools, results, schemas):
    """Runs the tools alternately (dat, DuckDB, Polars, dat, …) `runs` times on workload w."""
    inp = work / w / "in"
    folder = inp
    for r in range(1, runs + 1):
        for tool in tools:
            run_dir = work / "runs" / f"{w}-{tool}-{r}"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True)
            out = run_dir / "out"
            if tool == "dat":
                cmd = [dat, "run", folder, "--export", "parquet", "--out", out, "--data-dir", run_dir / "data"]
            else:
                out.mkdir()
                cmd = [sys.executable, HERE / "bench_compare.py", "anchor", tool, w, folder, out / "data.parquet"]
            label = f"{w} {TOOL_LABEL[tool]} run {r}/{runs}"
            wall, cpu, rss_kib, others = measured(cmd, run_dir, label)
            disk = dir_bytes(run_dir)
            rows, schema = check_output(sorted(out.glob("*.parquet")), facts, tool, label)
            schemas.setdefault(w, {})[tool] = schema
            results.setdefault(w, {}).setdefault(tool, []).append(
                {"wall": wall, "cpu": cpu, "rss_mib": rss_kib / 1024, "disk_mb": disk / 1e6, "rows": rows,
                 "others_cpu": others})
            log(f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss_kib / 1024:.0f} MiB, "
                f"{rows:,} rows, {disk / 1e6:.0f} MB written, others' CPU {others:.1f} s")
            shutil.rmtree(run_dir)


# ---- W3: table_availability over HTTP ------------------------------------------------------------


def http(url, method="GET", body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def proc_cpu_s(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm_mib(pid):
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024


def bench_w3(work, facts, dat, runs, results):
    """Per run: a fresh `dat serve` and data dir; create a run, lock discovery and selection,
    then time the table_availability lock request (probing every file and writing its
    events durably) from the client."""
    ws = work / "W3" / "in"
    n = facts["files"]
    for r in range(1, runs + 1):
        run_dir = work / "runs" / f"W3-dat-{r}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        err = open(run_dir / "serve.stderr", "wb")
        proc = subprocess.Popen([str(dat), "serve", "--bind", "127.0.0.1:0", "--workspace", str(ws),
                                 "--data-dir", str(run_dir / "data")],
                                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)
        label = f"W3 dat run {r}/{runs}"

        def fail(msg):
            proc.terminate()
            proc.wait(timeout=30)
            err.close()
            sys.stderr.write(f"--- dat serve stderr ---\n{(run_dir / 'serve.stderr').read_text(errors='replace')[-4000:]}\n")
            die(f"{label}: {msg}")

        url = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("dat listening on "):
                url = line.split("dat listening on ", 1)[1].strip()
                break
        if url is None:
            fail("dat serve did not print its address")
        api = f"{url}/api/dat"
        status, body = http(f"{api}/runs", "POST", {"name": "bench"})
        if status != 201:
            fail(f"create run: {status} {body}")
        run_id = body["run_id"]
        for stage, lock in (("discovery", {"root": "data"}), ("selection", {})):
            status, body = http(f"{api}/runs/{run_id}/stages/{stage}/lock", "POST", lock)
            if status != 200:
                fail(f"lock {stage}: {status} {body}")
        wait_idle(label)
        busy0 = busy_cpu_s()
        cpu0 = proc_cpu_s(proc.pid)
        t0 = time.perf_counter()
        status, body = http(f"{api}/runs/{run_id}/stages/table_availability/lock", "POST", {})
        wall = time.perf_counter() - t0
        cpu = proc_cpu_s(proc.pid) - cpu0
        others = max(0.0, busy_cpu_s() - busy0 - cpu)
        if status != 200:
            fail(f"lock table_availability: {status} {body}")
        stage = body["stages"]["table_availability"]
        if stage.get("state") != "locked" or stage.get("error"):
            fail(f"table_availability not locked: {stage}")
        status, art = http(f"{api}/runs/{run_id}/stages/table_availability/artifact")
        if status != 200:
            fail(f"artifact: {status} {art}")
        tables = re.findall(r'"status":\s*"(\w+)"', json.dumps(art["content"]))
        available = sum(1 for s in tables if s == "available")
        if available != n:
            fail(f"{available} tables available of {n} files")
        hwm = proc_hwm_mib(proc.pid)
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            fail("dat serve did not stop within 60 s of SIGTERM")
        err.close()
        if rc != 0:
            fail(f"dat serve exited {rc}")
        results.setdefault("W3", {}).setdefault("dat", []).append(
            {"wall": wall, "cpu": cpu, "rss_mib": hwm, "ms_per_file": wall * 1000 / n,
             "cpu_ms_per_file": cpu * 1000 / n, "rows": facts["rows"], "others_cpu": others})
        log(f"{label}: table_availability lock {wall * 1000:.0f} ms for {n} files = "
            f"{wall * 1000 / n:.2f} ms/file (server CPU {cpu * 1000 / n:.2f} ms/file), server peak RSS {hwm:.0f} MiB")
        shutil.rmtree(run_dir)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def sh(cmd, default="?"):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip() or default
    except Exception:
        return default


def machine(work, dat):
    import duckdb
    import polars

    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    osr = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    pretty = re.search(r'^PRETTY_NAME="?([^"\n]+)"?', osr, re.M)
    try:
        import fastexcel
        fe = fastexcel.__version__
    except Exception:
        fe = "?"
    ext = duckdb_excel_extension()
    return {
        "cpu": model.group(1) if model else platform.processor() or "?",
        "cores": os.cpu_count(),
        "ram_gib": int(mem.group(1)) / 2**20 if mem else None,
        "disk_free_gb": shutil.disk_usage(work).free / 1e9,
        "work_fs": sh(["df", "--output=source,fstype", str(work)]).splitlines()[-1].split(),
        "os": f"{pretty.group(1) if pretty else platform.system()}, kernel {platform.release()}",
        "dat": sh([str(dat), "--version"]),
        "git": sh(["git", "describe", "--always", "--dirty", "--tags"]),
        "commit": sh(["git", "rev-parse", "HEAD"]),
        "rustc": sh(["rustc", "--version"]),
        "duckdb": duckdb.__version__ + (" (+ excel extension from PyPI duckdb-ext-excel)" if ext else ""),
        "polars": polars.__version__,
        "fastexcel": fe,
        "python": platform.python_version(),
    }


def fmt_s(x):
    return "—" if x is None else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def fmt_mib(x):
    return "—" if x is None else f"{x:.0f}"


def fmt_ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def stat(results, w, tool, key):
    runs = results.get(w, {}).get(tool, [])
    return median([r[key] for r in runs])


def input_desc(w, f):
    mb = f"{f['bytes'] / 1e6:,.0f} MB" if f["bytes"] >= 1e6 else f"{f['bytes'] / 1e3:,.0f} kB"
    if w == "W4":
        return f"1 xlsx, {f['rows']:,} rows in sheets, {mb}"
    if f["files"] == 1:
        return f"1 CSV, {f['rows']:,} rows, {mb}"
    return f"{f['files']:,} CSVs, {f['rows']:,} rows, {mb}"


def tables(results, facts, runs):
    """The main table (markdown) and the W3 line."""
    head = ("| workload | input | dat wall s | DuckDB wall s | Polars wall s | dat CPU s | DuckDB CPU s "
            "| Polars CPU s | dat RSS MiB | DuckDB RSS MiB | Polars RSS MiB | dat/DuckDB wall | dat/Polars wall |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for w in [w for w in ("W1", "W2", "W4", "W5") if w in results]:
        wall = {t: stat(results, w, t, "wall") for t in TOOLS}
        cpu = {t: stat(results, w, t, "cpu") for t in TOOLS}
        rss = {t: stat(results, w, t, "rss_mib") for t in TOOLS}
        lines.append(
            f"| {w} {WORKLOAD_TITLE[w]} | {input_desc(w, facts[w])} | "
            + " | ".join(fmt_s(wall[t]) for t in TOOLS) + " | "
            + " | ".join(fmt_s(cpu[t]) for t in TOOLS) + " | "
            + " | ".join(fmt_mib(rss[t]) for t in TOOLS) + " | "
            + f"{fmt_ratio(wall['dat'], wall['duckdb'])} | {fmt_ratio(wall['dat'], wall['polars'])} |")
    w3 = ""
    if "W3" in results:
        ms = stat(results, "W3", "dat", "ms_per_file")
        cpu_ms = stat(results, "W3", "dat", "cpu_ms_per_file")
        total = stat(results, "W3", "dat", "wall")
        f3 = facts["W3"]
        w3 = (f"W3 table_availability, {f3['files']:,} small CSVs of {f3['rows'] // f3['files']} rows: "
              f"median {ms:.2f} ms/file wall ({total * 1000:.0f} ms for the lock request), "
              f"{cpu_ms:.2f} ms/file of server CPU; dat only")
    return "\n".join(lines), w3


def bench_log_share(work, facts, dat, runs, results):
    """The event log's share of parse on W2 (500 tables, a durable Checkpointed event each):
    `dat run` as it is (sled, every append fsynced), and with --memory-log (the same events in
    an in-memory log, nothing written), in pairs, at least 9 of them (the share is small beside
    the machine's noise, which drifts over minutes: each pair's two runs follow each other, the
    one that goes first alternating); parse's own time is read from each run's parse manifest."""
    inp = work / "W2" / "in"
    runs = max(runs, 9)
    modes = [("fsync", []), ("memory", ["--memory-log"])]
    for r in range(1, runs + 1):
        for mode, flags in (modes if r % 2 else modes[::-1]):
            run_dir = work / "runs" / f"log-{mode}-{r}"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir(parents=True)
            label = f"W2 log share, {mode}, run {r}/{runs}"
            cmd = [dat, "run", inp, "--export", "parquet", "--out", run_dir / "out", "--data-dir", run_dir / "data"]
            wall, _, _, _ = measured(cmd + flags, run_dir, label)
            manifests = list((run_dir / "data" / "runs").glob("*/parse_*/manifest.json"))
            if len(manifests) != 1:
                die(f"{label}: expected one parse manifest, found {len(manifests)}")
            parse = json.loads(manifests[0].read_text())["timings"]["total"]
            results.setdefault("log", {}).setdefault(mode, []).append({"wall": wall, "parse": parse})
            log(f"{label}: wall {wall:.2f} s, parse {parse:.2f} s")
            shutil.rmtree(run_dir)


def bench_w5_linearity(work, dat, runs, results):
    """dat on W1 `runs` times right after W5: the machine's speed drifts over minutes, so W5's
    time is compared with W1 runs next to it, not with W1's batch of the invocation's start."""
    for r in range(1, runs + 1):
        run_dir = work / "runs" / f"W1-after-W5-{r}"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        label = f"W1 dat run {r}/{runs} right after W5"
        cmd = [dat, "run", work / "W1" / "in", "--export", "parquet", "--out", run_dir / "out",
               "--data-dir", run_dir / "data"]
        wall, cpu, _, _ = measured(cmd, run_dir, label)
        results.setdefault("linearity", []).append({"wall": wall, "cpu": cpu})
        log(f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s")
        shutil.rmtree(run_dir)


def linearity_line(results, facts):
    """W5 against the W1 runs right after it (the target: 10 GiB within 25x W1's time)."""
    if "linearity" not in results or "W5" not in results:
        return ""
    w1 = median([r["wall"] for r in results["linearity"]])
    w1_cpu = median([r["cpu"] for r in results["linearity"]])
    w5, w5_cpu = stat(results, "W5", "dat", "wall"), stat(results, "W5", "dat", "cpu")
    bytes_ratio = facts["W5"]["bytes"] / facts["W1"]["bytes"]
    return (f"W5 linearity (dat): W5 {w5:.2f} s against the median of {len(results['linearity'])} W1 runs right "
            f"after it, {w1:.2f} s: {w5 / w1:.1f}x the time (CPU {w5_cpu / w1_cpu:.1f}x) for "
            f"{bytes_ratio:.1f}x the bytes")


def log_line(results, facts):
    """The log-share line of the report."""
    if "log" not in results:
        return ""
    facts_files = f"{facts['W2']['files']:,}"
    pairs = list(zip(results["log"]["fsync"], results["log"]["memory"]))
    durable = median([f["parse"] for f, _ in pairs])
    memory = median([m["parse"] for _, m in pairs])
    # Each pair's share, then their median: a drift of the machine's speed between pairs cancels.
    shares = sorted((f["parse"] - m["parse"]) / f["parse"] * 100 for f, m in pairs)
    return (f"Event log share of parse (W2, {facts_files} tables): parse {durable:.2f} s with the durable sled log, "
            f"{memory:.2f} s with an in-memory log (`--memory-log`), medians of {len(pairs)} runs each; the share, "
            f"median of the {len(pairs)} back-to-back pairs: {median(shares):.1f}% of parse "
            f"(pairs ranged {shares[0]:.1f}% to {shares[-1]:.1f}%)")


def raw_table(results):
    lines = ["| workload | tool | wall s per run | CPU s per run | peak RSS MiB per run | MB written per run "
             "| others' CPU s per run |",
             "|---|---|---|---|---|---|---|"]
    for w, per_tool in results.items():
        # The event-log share and the W1 runs right after W5 have lines of their own.
        if w in ("log", "linearity"):
            continue
        for t, runs in per_tool.items():
            lines.append(f"| {w} | {TOOL_LABEL[t]} | " + " / ".join(f"{r['wall']:.3g}" for r in runs) + " | "
                         + " / ".join(f"{r['cpu']:.3g}" for r in runs) + " | "
                         + " / ".join(f"{r['rss_mib']:.0f}" for r in runs) + " | "
                         + " / ".join(f"{r['disk_mb']:.0f}" if "disk_mb" in r else "—" for r in runs) + " | "
                         + " / ".join(f"{r['others_cpu']:.1f}" for r in runs) + " |")
    return "\n".join(lines)


def schema_lines(schemas):
    out = []
    for w, per_tool in schemas.items():
        for t, schema in per_tool.items():
            cols = ", ".join(f"{c} {ty}" for c, ty in schema if c not in SOURCE_COLUMNS)
            extra = " (+ _source_file, _source_table, _source_row)" if t == "dat" else ""
            out.append(f"- {w} {TOOL_LABEL[t]}: {cols}{extra}")
    return "\n".join(out)


def chart(results, path, quick):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ws = [w for w in ("W1", "W2", "W4", "W5") if w in results]
    colors = {"dat": "#1f77b4", "duckdb": "#e6a000", "polars": "#2ca02c"}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    width = 0.26
    for ax, key, ylabel in ((axes[0], "wall", "median wall time (s)"), (axes[1], "rss_mib", "median peak RSS (MiB)")):
        for k, t in enumerate(TOOLS):
            xs, ys, lo, hi = [], [], [], []
            for i, w in enumerate(ws):
                runs = results[w].get(t, [])
                if not runs:
                    ax.text(i + (k - 1) * width, 0, "n/a", ha="center", va="bottom", fontsize=8, rotation=90)
                    continue
                vals = [r[key] for r in runs]
                m = median(vals)
                xs.append(i + (k - 1) * width)
                ys.append(m)
                lo.append(m - min(vals))
                hi.append(max(vals) - m)
            bars = ax.bar(xs, ys, width, label=TOOL_LABEL[t], color=colors[t], yerr=[lo, hi], capsize=3)
            ax.bar_label(bars, fmt="%.1f" if key == "wall" else "%.0f", fontsize=7, padding=2)
        ax.set_xticks(range(len(ws)), [f"{w}\n{WORKLOAD_TITLE[w]}" for w in ws], fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].legend()
    title = "dat vs DuckDB vs Polars: folder → one Parquet file (bars: median, whiskers: min–max)"
    if quick:
        title += "\nQUICK smoke test, 1/20 scale: not representative"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(results, facts, schemas, mach, args, work):
    main_table, w3 = tables(results, facts, args.runs)
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    md_path, png_path = docs / "benchmarks.md", docs / "benchmarks.png"
    chart(results, png_path, args.quick)
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "scripts/bench-compare" + (" --quick" if args.quick else "") + (" --w5" if args.w5 else "") + \
        (f" --runs {args.runs}" if args.runs != 3 else "")
    m = mach
    ws = [w for w in ("W1", "W2", "W3", "W4", "W5") if w in facts]
    w_desc = {
        "W1": "one CSV of 10 columns (int `id`, `wafer`, `site`; float `x_mm`, `y_mm`, `cd_nm` with 4 "
              "decimals; short strings `lot`, `tool`; ISO `date` and `ts` date-time strings)",
        "W2": "the same columns spread over many CSVs that drift: every 3rd file lacks `tool`, every 3rd "
              "has an extra `operator`, every 7th has floats in the int column `site`, every 4th has its "
              "columns in another order, every 5th is `;`-delimited",
        "W3": "small CSVs (drifting like W2); only dat's table_availability stage is timed",
        "W4": "one xlsx workbook written by xlsxwriter (shared strings, dates as Excel dates), the W1 "
              "columns on every sheet",
        "W5": "one big CSV like W1",
    }
    limits = "\n".join(f"- **{w}**: {LIMITS[w]}" for w in ws)
    workloads = "\n".join(
        f"- **{w}** ({input_desc(w, facts[w])}): {w_desc[w]}."
        + (f" sha256 of the input: `{facts[w]['sha256'][:16]}…`" if facts[w].get("sha256") else "")
        for w in ws)
    md = f"""# Benchmarks: dat vs DuckDB vs Polars

{"**QUICK smoke test (every workload 1/20 of its size): these figures are not representative.**" if args.quick else ""}

Generated by `{cmd}` on {when}. Each tool turns the same input into one Parquet file, run
alternately (dat, DuckDB, Polars, dat, …) {args.runs} time{'s' if args.runs != 1 else ''} from a fresh output directory{f' (W5: {args.w5_runs})' if args.w5 else ''}; the
figures are medians. Wall time, CPU time (user + sys) and peak RSS are measured from outside the
process by GNU `/usr/bin/time -v`. Every output is read back (rows and column names must match
the input) before it counts.

![median wall time and peak RSS](benchmarks.png)

## Machine

| | |
|---|---|
| CPU | {m['cpu']} |
| cores | {m['cores']} |
| RAM | {m['ram_gib']:.1f} GiB |
| disk free (work dir) | {m['disk_free_gb']:.0f} GB on {' '.join(m['work_fs'])} |
| OS | {m['os']} |
| dat | {m['dat']}, `git describe` {m['git']}, commit {m['commit']}, release build, {m['rustc']} |
| DuckDB | {m['duckdb']} (Python package) |
| Polars | {m['polars']}, fastexcel {m['fastexcel']} (Python {m['python']}) |

## Results (median of {args.runs})

{main_table}

{w3}

{log_line(results, facts)}

{linearity_line(results, facts)}

dat/DuckDB and dat/Polars are ratios of median wall times: below 1× dat is faster.

### Workloads

{workloads}

Data are generated with fixed seeds (numpy `default_rng`, seed {SEED}), so every run of the
script reads the same bytes.

### What each tool runs

- **dat**: `dat run <folder> --export parquet --out <fresh dir> --data-dir <fresh dir>` — all eight
  stages, with the durable event log, fingerprints (sha256), checkpoints, rejects, reports and
  the exported Parquet.
- **DuckDB**: a Python process running
  `COPY (SELECT * FROM read_csv('<folder>/*.csv', union_by_name=true)) TO '<out>' (FORMAT parquet)`;
  {"for W4, `read_xlsx` on every sheet (the `excel` extension from PyPI's `duckdb-ext-excel`), `UNION ALL BY NAME`" if "excel" in m['duckdb'] else "no W4 figure (—): DuckDB reads xlsx only through its `excel` extension, which PyPI ships for some DuckDB versions only (`BENCH_DUCKDB_VERSION=1.4.4` pins one that has it)"}.
- **Polars**: a Python process running
  `pl.concat([pl.scan_csv(f, separator=<sniffed from the header line>, try_parse_dates=True) for f in files], how="diagonal_relaxed").sink_parquet(out)`;
  for W4, `pl.read_excel(path, sheet_id=0, engine="calamine")`, the sheets concatenated with
  `how="diagonal_relaxed"`, then `write_parquet`.
- **W3**: a fresh `dat serve --bind 127.0.0.1:0` and data dir per run; a run is created over HTTP
  (`POST /api/dat/runs`), discovery (`{{"root": "data"}}`) and selection (`{{}}`) are locked, and
  the `POST /api/dat/runs/{{id}}/stages/table_availability/lock` request (`{{}}`) is timed from the
  client: probing every file and writing its events durably. Server CPU is read from
  `/proc/<pid>/stat` around the request.

### Output schemas (first run; column types as DuckDB reads the Parquet)

{schema_lines(schemas)}

### Every run

{raw_table(results)}

## What limits each figure

Facts of the method that bear on every figure: the input is in the page cache (generated just
before, and read by each run); the anchors' figures include starting Python and importing their
engine; dat writes more than the anchors (event log, checkpoints and its dataset, which the
export links rather than copies; see "MB written per run", each file counted once), and the
tools compress Parquet differently. Before each run the script waits (up to `BENCH_IDLE_WAIT`
s, {IDLE_WAIT_S:.0f}) for other processes to use under 0.2 of a core; "others' CPU" is the CPU time the
rest of the machine used during the run (from `/proc/stat`): well above 0 means the run shared the {m['cores']} cores.

{limits}

The shares above come from `perf record` of dat on this machine (2026-12-06; W1 on 2026-12-07); they change
only when the code does, so they live in `LIMITS` in scripts/bench_compare.py.
"""
    md = re.sub(r"\n{3,}", "\n\n", md)
    md_path.write_text(md)
    return main_table, w3, md_path, png_path


# ---------------------------------------------------------------------------------------------


# What limits dat on each workload, from `perf record` profiles of `dat run` on the 2-core
# machine of the benchmark (2026-12-06; W1 on 2026-12-07 at 15:10). Update them with the code, not with each run.
LIMITS = {
    "W1": "The sha256 of the file, before anything else: discovery hashes it on one core (a sha256 "
          "is one sequential stream, ~0.30 s, ~7% of dat's CPU; the pass that finds where the 32 "
          "ranges start and counts their lines, so that every row keeps its line number, runs on the "
          "other core meanwhile), and the stage IDs that parse needs exist only then. Then both cores "
          "are busy to the end: typing cells ~17% of the CPU (the float division of a decimal's "
          "digits alone ~1%), splitting lines ~10%, building the columns ~9% (the text of typed "
          "cells is not copied while their values write it back), encoding each range's chunks as "
          "Parquet as they are read ~20% (zstd ~11%), kernel copies of the file and the parts ~8%. "
          "Assembly splices the encoded column chunks into the dataset as they are (~0.1 s: copying, "
          "the dataset's sha256 on a thread of its own, the sync) where a column's final type is the "
          "one its chunk had, which is every column here. DuckDB writes Snappy, dat and Polars zstd "
          "(LZ4 for the floats and date-times alone would save dat ~5% of its CPU for a 19% larger "
          "file). Parse does not hash the file again while its size and change time are those "
          "discovery hashed it under.",
    "W2": "CPU on both cores the whole run: reading and typing cells ~40% of dat's CPU, encoding "
          "the dataset ~20% (zstd, dictionaries of the text columns whose values repeat), "
          "table_availability's probes ~10% (sniffing 500 records and typing 1,000 rows of each "
          "file), sha256 ~6% (discovery, and the dataset as it is written), "
          "checkpoint parts written and read back ~8% (a file's 10,000 rows are one chunk, too "
          "small a row group to encode at parse). The anchors sniff and union 500 schemas.",
    "W3": "One probe per file (open, read up to 256 KiB, sniff, type) on the probe workers, and "
          "the stage's durable events; 0.17 ms of server CPU per file.",
    "W4": "Unzipping (inflate ~7%) and parsing the sheets' XML (quick-xml and calamine's cell "
          "reader, UTF-8 checks included, ~47%), on two cores for five sheets; numbers are also "
          "kept as the text Excel shows (number formatting ~6%); sha256 ~4%, dataset encoding ~3%.",
    "W5": "Like W1, plus the disk: dat writes its checkpoints and the dataset (about 1.2x the "
          "input), which past the page cache's dirty limit waits for writeback.",
}


def cmd_bench(args):
    work = Path(args.work).resolve()
    dat = Path(args.dat).resolve()
    facts = generate(work, args.quick, args.w5)
    has_duckdb_xlsx = duckdb_excel_extension() is not None
    results, schemas = {}, {}
    for w in ("W1", "W2", "W3", "W4", "W5"):
        if w not in facts:
            continue
        log(f"== {w}: {WORKLOAD_TITLE[w]}: {input_desc(w, facts[w])}")
        if w == "W3":
            bench_w3(work, facts[w], dat, args.runs, results)
            continue
        tools = list(TOOLS)
        if w == "W4" and not has_duckdb_xlsx:
            tools.remove("duckdb")
        runs = args.w5_runs if w == "W5" else args.runs
        bench_batch(work, w, facts[w], dat, runs, tools, results, schemas)
        if w == "W2":
            bench_log_share(work, facts, dat, args.runs, results)
        if w == "W5":
            bench_w5_linearity(work, dat, args.runs, results)
    mach = machine(work, dat)
    main_table, w3, md_path, png_path = report(results, facts, schemas, mach, args, work)
    (work / "results.json").write_text(json.dumps({"results": results, "facts": facts, "machine": mach}, indent=1))
    print()
    print(main_table)
    print()
    print(w3)
    print(log_line(results, facts))
    print(linearity_line(results, facts))
    print()
    log(f"wrote {md_path} and {png_path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("work")
    g.add_argument("--quick", action="store_true")
    g.add_argument("--w5", action="store_true")
    a = sub.add_parser("anchor")
    a.add_argument("tool")
    a.add_argument("workload")
    a.add_argument("input")
    a.add_argument("out")
    b = sub.add_parser("bench")
    b.add_argument("work")
    b.add_argument("--dat", required=True)
    b.add_argument("--runs", type=int, default=3)
    b.add_argument("--w5-runs", type=int, default=1)
    b.add_argument("--docs", required=True)
    b.add_argument("--quick", action="store_true")
    b.add_argument("--w5", action="store_true")
    args = ap.parse_args()
    if args.cmd == "gen":
        generate(Path(args.work).resolve(), args.quick, args.w5)
    elif args.cmd == "anchor":
        anchor(args.tool, args.workload, args.input, args.out)
    else:
        if args.runs < 1:
            die("--runs must be at least 1")
        cmd_bench(args)


if __name__ == "__main__":
    main()
