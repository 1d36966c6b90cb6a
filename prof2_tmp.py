import asyncio, tempfile, subprocess, sys
from pathlib import Path
import bench.throughput as t
from tests.support.processes import separate_cores, BotProcess
orig_start = BotProcess.start
async def start(self):
    await orig_start(self)
    out = Path("/tmp/pyspy_" + sys.argv[1] + ".txt")
    self.spy = subprocess.Popen([".venv/bin/py-spy", "record", "-p", str(self.pid), "-d", "25", "-r", "200", "--threads", "--idle", "-f", "raw", "-o", str(out), "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
BotProcess.start = start
async def main():
    t.BOT_CORE = separate_cores()
    logs = Path(tempfile.mkdtemp(prefix="prof-"))
    run = await t.run_sunbox(50, 20, logs, engine=sys.argv[1])
    t._show(run)
asyncio.run(main())
