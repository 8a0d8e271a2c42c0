#!/usr/bin/env bash
# The OGC API – Features checks of ogctests (PyPI) against a running service: features/core and
# features/filtering. ogctests pins its own pytest, httpx and pyarrow, so it lives in its own virtual
# environment (.venv-ogctests). Usage: bench/ogctests.sh http://127.0.0.1:5000/ogc [core] [filtering]
# (both by default). features/filtering 0.1.15 fails 4 of its 10 tests on slips of its own (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
url=${1:?the OGC API landing page, e.g. http://127.0.0.1:5000/ogc}
shift
if [ $# -eq 0 ]; then suites=(core filtering); else suites=("$@"); fi
venv=${OGCTESTS_VENV:-.venv-ogctests}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "ogctests==0.1.15"
fi
bench=$(pwd)/bench
python=$(cd "$venv" && pwd)/bin/python
ogctests_dir=$("$venv/bin/python" -c 'import ogctests, os; print(os.path.dirname(ogctests.__file__))')
# Every test of each class, one run per class (the filtering suite reorders whatever it collects by its
# own test numbers); -rA names each result, so a skipped or failed check shows.
status=0
for suite in "${suites[@]}"; do
    # run from the suite's own folder with no configuration of ours, so its conftest files apply
    (cd "$ogctests_dir" && INSTANCE_URL="$url" PYTHONPATH="$bench" "$python" -m pytest -c /dev/null --rootdir . \
        -p ogctests_links -p no:cacheprovider -rA -q -W ignore::pytest.PytestAssertRewriteWarning \
        "features/$suite") || status=1
done
exit $status
