// CT slice panel: the server renders each slice (window/level, twin or tissue overlay)
// as PNG; the page draws it with the true pixel proportions (X-Pixel-Mm header).
const $ = (id) => document.getElementById(id);

export async function setupSlices(info, colours) {
  const text = $('slice-text');
  if (!info || !info.available) {
    text.textContent = `No volumes to slice. ${(info && info.notes || []).join(' ')}`;
    $('slice-img').hidden = true;
    return;
  }
  const axisSel = $('slice-axis'); const idx = $('slice-index'); const ov = $('slice-overlay');
  const win = $('slice-window'); const lev = $('slice-level'); const preset = $('slice-preset');
  const img = $('slice-img');
  win.value = info.window_hu; lev.value = info.level_hu;
  if (info.source !== 'ct') {
    for (const el of [win, lev, preset]) el.disabled = true;
  }
  for (const opt of ov.options) opt.disabled = !info.overlays.includes(opt.value);
  let url = null; let seq = 0;
  function setAxis() {
    const n = info.count[axisSel.value];
    idx.max = String(n - 1);
    // open at the bridge centre when the plan has one (the junction), else the middle
    const focus = info.focus_index && info.focus_index[axisSel.value];
    idx.value = String(Number.isInteger(focus) ? focus : Math.floor(n / 2));
  }
  async function load() {
    const mine = ++seq;
    const q = new URLSearchParams({
      axis: axisSel.value, index: idx.value, overlay: ov.value,
      window_hu: win.value, level_hu: lev.value,
    });
    const r = await fetch(`/api/slices?${q}`);
    if (mine !== seq) return;
    if (!r.ok) {
      const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
      text.textContent = `Slice not available: ${body.error}`;
      return;
    }
    const [pxCol, pxRow] = (r.headers.get('X-Pixel-Mm') || '1,1').split(',').map(Number);
    const pos = Number(r.headers.get('X-Position-Mm'));
    const blob = await r.blob();
    if (mine !== seq) return;
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(blob);
    await new Promise((ok) => { img.onload = ok; img.onerror = ok; img.src = url; });
    const wMm = img.naturalWidth * pxCol; const hMm = img.naturalHeight * pxRow;
    const scale = 296 / Math.max(wMm, hMm);
    img.style.width = `${(wMm * scale).toFixed(0)}px`;
    img.style.height = `${(hMm * scale).toFixed(0)}px`;
    const letter = { axial: 'z (S)', coronal: 'y (A)', sagittal: 'x (R)' }[axisSel.value];
    const orient = axisSel.value === 'sagittal' ? 'anterior on the left' : 'patient right on the left';
    const src = info.source === 'ct' ? `${info.modality} W ${win.value} / L ${lev.value}` : 'tissue labels (CT not found)';
    text.textContent = `${axisSel.value} ${idx.value}/${idx.max} at ${letter} = ${pos.toFixed(1)} mm; ${orient}; ${src}.`;
    img.dataset.loaded = String(mine);
    img.dataset.axis = axisSel.value;
  }
  axisSel.addEventListener('change', () => { setAxis(); load(); });
  for (const el of [idx, ov]) el.addEventListener('input', load);
  ov.addEventListener('change', load);
  preset.addEventListener('change', () => {
    if (preset.value !== 'custom') { [win.value, lev.value] = preset.value.split(','); load(); }
  });
  for (const el of [win, lev]) el.addEventListener('change', () => { preset.value = 'custom'; load(); });
  if (info.notes && info.notes.length) text.title = info.notes.join(' ');
  setAxis();
  await load();
  void colours;
}
