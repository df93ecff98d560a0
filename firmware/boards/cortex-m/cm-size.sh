#!/bin/sh
# Size report of a Cortex-M link, from the linker's --print-memory-usage output (so the region
# sizes come from the board's link.ld, the one place they are written).
#   cm-size.sh MEMFILE BOARD MACHINE DESC ARENA STACK [link-failed]
# With link-failed: print the linker's errors, then say plainly what did not fit, and exit 1.
mem=$1 board=$2 machine=$3 desc=$4 arena=$5 stack=$6 failed=$7

report() {
    awk -v board="$board" -v machine="$machine" -v desc="$desc" -v arena="$arena" -v stack="$stack" '
    function bytes(n, unit) {
        if (unit == "KB") return n * 1024
        if (unit == "MB") return n * 1024 * 1024
        if (unit == "GB") return n * 1024 * 1024 * 1024
        return n
    }
    / *[A-Z]+: +[0-9]+ [KMG]?B +[0-9]+ [KMG]?B/ {
        name = $1; sub(":", "", name)
        used = bytes($2, $3); size = bytes($4, $5)
        line[++n] = sprintf("  %-6s %9d / %9d bytes  (%5.1f %%)%s", name, used, size,
                            size ? 100 * used / size : 0, used > size ? "  DOES NOT FIT" : "")
    }
    END {
        printf "%s (%s), machine %s:\n", board, desc, machine
        for (i = 1; i <= n; i++) print line[i]
        printf "  of which model arena %d bytes, stack %d bytes (high-water: cm_stack_high_water())\n", arena, stack
    }' "$mem"
}

if [ "$failed" = link-failed ]; then
    grep -v "^Memory region\|: *[0-9]* [KMG]*B" "$mem" >&2
    report >&2
    over=$(sed -n "s/.*region \`\([A-Z]*\)' overflowed by \([0-9]*\) bytes.*/\1 by \2 bytes/p" "$mem" | sort -u | tr '\n' ';' | sed 's/;$//; s/;/, /g')
    if [ -n "$over" ]; then
        echo "error: the firmware for machine $machine does not fit $board ($desc): $over over." >&2
        echo "       Use a smaller model (make export MACHINE=$machine PRUNE=...) or a board with more memory." >&2
    else
        echo "error: linking the $board firmware failed (see above)" >&2
    fi
    exit 1
fi
report
