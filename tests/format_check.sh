#!/bin/sh
# The C++ sources as .clang-format says (clang-format --dry-run --Werror over src/, tests/,
# bench/ and fuzz/). Skips (77) where clang-format is not installed; packaging/install-deps.sh
# installs it with the test suite's packages.
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
    echo "format check: skipped: clang-format is not installed"
    exit 77
fi
files=$(find src tests bench fuzz -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.c' \) ! -path 'tests/fixtures/*' | sort)
if ! clang-format --dry-run --Werror $files 2>/tmp/format-check.$$; then
    grep -E '^[^ ]+:[0-9]+:[0-9]+: (error|warning):' /tmp/format-check.$$ | cut -d: -f1 | sort -u | sed 's/^/not formatted: /'
    rm -f /tmp/format-check.$$
    echo "format check: run clang-format -i on the files above"
    exit 1
fi
rm -f /tmp/format-check.$$
echo "format check: $(echo "$files" | wc -l) files as .clang-format says"
