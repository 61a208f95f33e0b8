#!/usr/bin/env bash
# The reports in a real browser: `pivotsim run` and `pivotsim sensitivity`
# write report.html on the smoke scenario; headless Chromium opens each,
# dumps its DOM (--dump-dom) and takes a screenshot (--screenshot). A check
# fails if a section (tornado, drivers, EVPI, CVaR) is missing or an image
# did not load. Images are checked in the browser: a copy of the report,
# beside it, carries a small script that writes, once the page has loaded,
# how many <img> it has and which have no pixels (complete, naturalWidth 0);
# a copy pointing one image at a file that is not a PNG, and one without a
# section, must be caught, so the check is known to work. Debian's chromium is installed with apt-get if
# missing (as root). Prints `browser: N passed, N failed`; exit 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() {
    echo "browser: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

browser=""
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian's chromium"
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
        browser=$(command -v chromium || true)
    fi
fi
if [ -z "$browser" ]; then
    fail "chromium is not installed and cannot be (needs root and apt-get)"
    finish
fi

cargo build --quiet --bin pivotsim || { fail "cargo build"; finish; }
bin="${CARGO_TARGET_DIR:-target}/debug/pivotsim"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

chrome() {
    # A fresh profile each time; nothing reaches the network.
    local profile
    profile=$(mktemp -d "$work/profile.XXXXXX")
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --virtual-time-budget=10000 --window-size=1400,1000 "$@" \
        2>>"$work/chromium.log"
}

# The report with the image check appended, beside it (relative links hold).
with_check() {
    local page=$1 copy=$2
    sed 's#</body>#<script>window.addEventListener("load",function(){var i=document.images,b=[];for(var k=0;k<i.length;k++){if(!(i[k].complete\&\&i[k].naturalWidth>0))b.push(i[k].getAttribute("src"))}var p=document.createElement("pre");p.id="pivotsim-check";p.textContent="images="+i.length+" broken="+b.length+(b.length?" "+b.join(" "):"");document.body.appendChild(p)});</script></body>#' \
        "$page" >"$copy"
}

# The marker the check wrote: `images=N broken=K [files]`.
marker() {
    chrome --dump-dom "file://$1" | sed -n 's#.*<pre id="pivotsim-check">\([^<]*\)</pre>.*#\1#p'
}

# The sections among $2... that the dumped DOM $1 lacks.
missing_sections() {
    local dom=$1
    shift
    for section in "$@"; do
        grep -q "<section id=\"$section\">" "$dom" || printf '%s ' "$section"
    done
}

check_report() {
    local name=$1 dir=$2
    shift 2
    local page="$dir/report.html"
    if [ ! -f "$page" ]; then fail "$name: no report.html in $dir"; return; fi
    local dom="$work/$name.dom.html"
    chrome --dump-dom "file://$page" >"$dom"
    for section in "$@"; do
        if [ -z "$(missing_sections "$dom" "$section")" ]; then
            pass "$name: section $section"
        else
            fail "$name: section $section is missing"
        fi
    done
    with_check "$page" "$dir/.check-report.html"
    local m
    m=$(marker "$dir/.check-report.html")
    case "$m" in
        "images=0 "*) fail "$name: no image on the page ($m)" ;;
        images=*" broken=0") pass "$name: every image loaded ($m)" ;;
        *) fail "$name: images did not load: ${m:-no marker (the page did not load)}" ;;
    esac
    rm -f "$dir/.check-report.html"
    chrome --screenshot="$work/$name.png" --window-size=1400,5000 "file://$page" >/dev/null
    if [ -s "$work/$name.png" ]; then
        mkdir -p target/browser && cp "$work/$name.png" "target/browser/$name.png"
        pass "$name: screenshot target/browser/$name.png"
    else
        fail "$name: no screenshot"
    fi
}

"$bin" run scenarios/smoke.toml --paths 300 --format png -q --out "$work/run" \
    || fail "pivotsim run"
"$bin" sensitivity scenarios/smoke.toml --paths 200 --format png -q --out "$work/sens" \
    --params market.btc.sigma,ai.gpu_capex_usd,market.gpu_price.p0_usd_per_gpu_hour,loan.margin_call_ltv \
    || fail "pivotsim sensitivity"

check_report run "$work/run" drivers evpi cvar
check_report sensitivity "$work/sens" tornado drivers evpi cvar

# The check must catch a missing section: the report without its CVaR.
sed 's#<section id="cvar">#<section id="not-cvar">#' "$work/sens/report.html" >"$work/sens/no-cvar.html"
chrome --dump-dom "file://$work/sens/no-cvar.html" >"$work/no-cvar.dom.html"
if [ "$(missing_sections "$work/no-cvar.dom.html" tornado drivers evpi cvar)" = "cvar " ]; then
    pass "a missing section is caught"
else
    fail "a missing section went unnoticed"
fi

# The check must catch a broken image: one src pointed at a file that is
# not a PNG.
printf 'not a png' >"$work/sens/broken.png"
sed '0,/src="tornado_npv.png"/s//src="broken.png"/' "$work/sens/report.html" >"$work/sens/broken.html"
with_check "$work/sens/broken.html" "$work/sens/.check-broken.html"
m=$(marker "$work/sens/.check-broken.html")
case "$m" in
    *"broken=1 broken.png") pass "a broken image is caught ($m)" ;;
    *) fail "a broken image went unnoticed: ${m:-no marker}" ;;
esac

finish
