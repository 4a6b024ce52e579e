// twinsep viewer page. World frame: the GLB is in millimetres, RAS (+x Right,
// +y Anterior, +z Superior); the group `world` turns RAS into three.js' Y-up frame
// (rotation -90 deg about x: superior is up, anterior toward -z). All numbers shown
// to the user are in mm in the RAS frame, whatever the zoom or VR scale.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { loadScene, refineScene } from './scene.js';
import { SEPARATION_DONE, SEPARATION_PLANNED, CROSSING_COLOUR, CROSSING_DONE } from './colours.js';
import { setupVRButton, makeVRPanel, setupControllers } from './xr.js';
import { setupSlices } from './slices.js';

const $ = (id) => document.getElementById(id);
const t0 = performance.now();
const api = { ready: false, readyMs: null, refinedMs: null, faces: 0, firstFaces: 0, errors: [], marks: {} };
const mark = (name) => { api.marks[name] = Math.round(performance.now() - t0); };
// a count and its noun ('1 stage', '2 stages'), as twinsep.words.counted
const counted = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
window.twinsep = api;

function fail(text) {
  const s = $('status');
  s.textContent = text;
  s.classList.add('error');
  api.errors.push(text);
}

async function getJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

// --- renderer, camera, lights ---------------------------------------------------------
const view = $('view');
const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
renderer.setSize(view.clientWidth, view.clientHeight);
renderer.localClippingEnabled = true;
renderer.xr.enabled = true;
view.appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color('#202124');
const camera = new THREE.PerspectiveCamera(35, view.clientWidth / view.clientHeight, 1, 1e5);
scene.add(new THREE.HemisphereLight(0xffffff, 0x666666, 1.6));
const sun = new THREE.DirectionalLight(0xffffff, 1.4);
camera.add(sun);
sun.position.set(0.3, 0.6, 1);
scene.add(camera);
const controls = new OrbitControls(camera, renderer.domElement);

const model = new THREE.Group(); // moved / scaled as a whole in VR
model.name = 'model';
const world = new THREE.Group(); // RAS millimetres inside
world.name = 'world-ras-mm';
world.rotation.x = -Math.PI / 2;
model.add(world);
scene.add(model);

let frameQueued = 0;
function requestRender() {
  if (renderer.xr.isPresenting || frameQueued) return;
  frameQueued = requestAnimationFrame(() => { frameQueued = 0; render(); });
}
// Draw now and wait until the GPU has really drawn the frame (reading one pixel back
// forces it), so that "ready" means "scene drawn", not "draw commands queued". A frame
// already queued is dropped: it would draw the same scene a second time.
function renderNow() {
  if (frameQueued) { cancelAnimationFrame(frameQueued); frameQueued = 0; }
  render();
  const gl = renderer.getContext();
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
}
controls.addEventListener('change', requestRender);
const clipLocal = new THREE.Plane();
const clipWorld = new THREE.Plane();
let clipOn = false;
let xrControllers = null;
function render() {
  if (clipOn) clipWorld.copy(clipLocal).applyMatrix4(world.matrixWorld);
  if (xrControllers) xrControllers.update();
  renderer.render(scene, camera);
}
window.addEventListener('resize', () => {
  camera.aspect = view.clientWidth / view.clientHeight;
  camera.updateProjectionMatrix();
  renderer.setSize(view.clientWidth, view.clientHeight);
  requestRender();
});

// --- helpers: RAS <-> three -------------------------------------------------------------
const rasToThree = (p) => world.localToWorld(new THREE.Vector3(p[0], p[1], p[2]));
const threeToRas = (v) => { const l = world.worldToLocal(v.clone()); return [l.x, l.y, l.z]; };

function boxOf(objects) {
  const b = new THREE.Box3();
  for (const o of objects) b.expandByObject(o);
  return b;
}

// --- legend and toggles -------------------------------------------------------------------
const TWIN_WORDS = { A: 'Twin A', B: 'Twin B' };
/** A legend row's words: 'A CSF', 'A skin', 'expander A1' (a name that ends in its twin needs no prefix: expander A1, cranioplasty A). */
function partWords(twin, structure) {
  const words = structure.split('_').map((w) => (w === 'csf' ? 'CSF' : w)).join(' ');
  return /_[AB]\d*$/.test(structure) ? words : `${twin} ${words}`;
}
function buildLegend(parts, colours, names) {
  const box = $('legend');
  box.textContent = '';
  for (const twin of ['A', 'B']) {
    const mine = [...parts.values()].filter((p) => p.twin === twin);
    const div = document.createElement('div');
    div.className = 'twin';
    const head = document.createElement('label');
    head.className = 'twin-head';
    const cb = document.createElement('input');
    cb.type = 'checkbox'; cb.checked = true; cb.id = `toggle-${twin}`;
    const sw = document.createElement('span');
    sw.className = 'swatch'; sw.style.background = colours[twin];
    const txt = document.createElement('span');
    txt.textContent = `${TWIN_WORDS[twin]} (${names[twin]}, ${colours[twin]})` + (mine.length ? '' : ' — no meshes');
    head.append(cb, sw, txt);
    div.append(head);
    cb.addEventListener('change', () => {
      for (const p of mine) {
        for (const m of p.meshes) m.visible = cb.checked && p.on;
        const sub = $(`toggle-${p.twin}-${p.structure}`);
        if (sub) sub.disabled = !cb.checked;
      }
      requestRender();
    });
    for (const p of mine) {
      p.on = true;
      const row = document.createElement('div');
      row.className = 'struct';
      const c2 = document.createElement('input');
      c2.type = 'checkbox'; c2.checked = true; c2.id = `toggle-${p.twin}-${p.structure}`;
      const s2 = document.createElement('span');
      s2.className = 'swatch'; s2.style.background = p.colour;
      const l2 = document.createElement('label');
      l2.htmlFor = c2.id; l2.textContent = partWords(twin, p.structure);
      l2.title = `${TWIN_WORDS[twin]}: ${partWords(twin, p.structure)}`;
      const op = document.createElement('input');
      op.type = 'range'; op.min = '0.05'; op.max = '1'; op.step = '0.05'; op.value = String(p.opacity ?? 1);
      op.id = `opacity-${p.twin}-${p.structure}`; op.title = 'opacity';
      op.setAttribute('aria-label', `opacity of ${partWords(twin, p.structure)}`);
      c2.addEventListener('change', () => {
        p.on = c2.checked;
        for (const m of p.meshes) m.visible = cb.checked && p.on;
        requestRender();
      });
      op.addEventListener('input', () => {
        const a = parseFloat(op.value);
        for (const m of p.meshes) {
          m.material.opacity = a;
          m.material.transparent = a < 1;
          m.material.depthWrite = a >= 1;
          m.material.needsUpdate = true;
        }
        requestRender();
      });
      row.append(c2, s2, l2, op);
      div.append(row);
    }
    box.append(div);
  }
  const sep = document.createElement('div');
  sep.className = 'twin-head';
  sep.innerHTML = '';
  const s1 = document.createElement('span'); s1.className = 'swatch'; s1.style.background = SEPARATION_DONE;
  const t1 = document.createElement('span'); t1.textContent = 'Separation surface, divided';
  const s2 = document.createElement('span'); s2.className = 'swatch'; s2.style.background = SEPARATION_PLANNED;
  const t2 = document.createElement('span'); t2.textContent = 'planned';
  const s3 = document.createElement('span'); s3.className = 'swatch'; s3.style.background = CROSSING_COLOUR;
  const t3 = document.createElement('span'); t3.textContent = 'vessel crossing (number)';
  sep.append(s1, t1, s2, t2);
  const cross = document.createElement('div');
  cross.className = 'twin-head';
  cross.append(s3, t3);
  box.append(sep, cross);
}

// --- vessel crossing markers ---------------------------------------------------------------
function numberSprite(text, sizeMm) {
  const c = document.createElement('canvas');
  c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.fillStyle = 'rgba(0,0,0,0.7)';
  g.beginPath(); g.arc(32, 32, 30, 0, 2 * Math.PI); g.fill();
  g.fillStyle = '#fff'; g.font = 'bold 36px sans-serif';
  g.textAlign = 'center'; g.textBaseline = 'middle';
  g.fillText(text, 32, 34);
  const tex = new THREE.CanvasTexture(c);
  tex.colorSpace = THREE.SRGBColorSpace;
  const sp = new THREE.Sprite(new THREE.SpriteMaterial({ map: tex, depthTest: false }));
  sp.scale.setScalar(sizeMm);
  sp.renderOrder = 11;
  return sp;
}

/** Number shown on a crossing: `number`, else the digits of its `id` ("vessel-2"). */
function crossingNumber(c, i) {
  if (Number.isFinite(c.number)) return c.number;
  const m = /(\d+)\s*$/.exec(String(c.id ?? ''));
  return m ? parseInt(m[1], 10) : i + 1;
}

/** Stage dividing a crossing: its `stage`, else the first separation stage that lists
 *  its `id` among the structures it divides (the plan's `separation.stages`). */
function crossingStage(c, planStages) {
  if (Number.isFinite(c.stage)) return c.stage;
  if (c.id === undefined) return null;
  const divides = planStages.filter((s) => (s.kind ?? 'separation') === 'separation'
    && (s.structures || []).includes(c.id)).map((s) => s.number).filter(Number.isFinite);
  return divides.length ? Math.min(...divides) : null;
}

function addCrossings(crossings, planStages, sizeMm) {
  const markers = [];
  crossings.forEach((c, i) => {
    const p = c && c.position_mm;
    if (!Array.isArray(p) || p.length !== 3 || !p.every(Number.isFinite)) return;
    const num = crossingNumber(c, i);
    const stage = crossingStage(c, planStages);
    const g = new THREE.Group();
    g.position.set(p[0], p[1], p[2]);
    const ball = new THREE.Mesh(
      new THREE.SphereGeometry(sizeMm * 0.25, 16, 12),
      new THREE.MeshBasicMaterial({ color: CROSSING_COLOUR, depthTest: false }),
    );
    ball.renderOrder = 10;
    const label = numberSprite(String(num), sizeMm);
    label.position.set(0, 0, sizeMm * 0.8); // above the ball (superior)
    g.add(ball, label);
    g.userData = { number: num, stage };
    world.add(g);
    markers.push({ group: g, ball, stage, number: num });
  });
  return markers;
}

// --- stages ------------------------------------------------------------------------------------
/** A plan stage in the report's words: its name, what it divides with the cut area (a
 *  preparatory operation divides nothing), then why. Before, an empty `structures` gave
 *  " — : why" and a preparatory stage "(0 mm²)". */
function stageWords(info) {
  if (!info) return '';
  const structures = (info.structures || []).join(', ');
  let what;
  if (info.kind === 'preparatory') {
    what = `a preparatory operation${structures ? ` (${structures})` : ''}, nothing divided`;
  } else {
    const area = Number.isFinite(info.area_mm2)
      ? `, ${Math.round(info.area_mm2).toLocaleString('en')} mm² of cut` : '';
    what = `divides ${structures || "the stage's sector of the bridge"}${area}`;
  }
  const why = info.rationale ? `. ${info.rationale}` : '';
  return ` — ${info.name ? `${info.name}: ` : ''}${what}${why}`;
}

function setupStages(stages, planStages, markers, parts, gapMm) {
  const numbers = [...new Set([...stages.keys(), ...planStages.map((s) => s.number)])]
    .filter(Number.isFinite).sort((a, b) => a - b);
  const n = numbers.length ? Math.max(...numbers) : 0;
  const slider = $('stage-slider');
  slider.max = String(n);
  slider.value = '0';
  const text = $('stage-text');
  const pull = $('pull-apart');
  // unit vector from A to B (RAS) for pulling apart after the last stage
  const ca = boxOf([...parts.values()].filter((p) => p.twin === 'A').flatMap((p) => p.meshes)).getCenter(new THREE.Vector3());
  const cb = boxOf([...parts.values()].filter((p) => p.twin === 'B').flatMap((p) => p.meshes)).getCenter(new THREE.Vector3());
  const dir = world.worldToLocal(cb.clone()).sub(world.worldToLocal(ca.clone()));
  if (dir.lengthSq() > 0) dir.normalize();
  function apply(s) {
    // the cut lies inside the heads: "through the heads" draws it over them
    const xray = $('sep-xray').checked;
    for (const [k, meshes] of stages) {
      for (const m of meshes) {
        const done = k <= s;
        m.material.color.set(done ? SEPARATION_DONE : SEPARATION_PLANNED);
        m.material.opacity = done ? (xray ? 0.85 : 1.0) : 0.3;
        m.material.transparent = !done || xray;
        m.material.depthWrite = done && !xray;
        m.material.depthTest = !xray;
        m.renderOrder = xray ? 9 : 2;
        m.material.needsUpdate = true;
      }
    }
    for (const mk of markers) {
      const done = mk.stage !== null && mk.stage <= s;
      mk.ball.material.color.set(done ? CROSSING_DONE : CROSSING_COLOUR);
      mk.done = done;
    }
    api.crossingsDone = markers.filter((mk) => mk.done).map((mk) => mk.number);
    const apart = s >= n && n > 0 && pull.checked;
    for (const p of parts.values()) {
      const sign = p.twin === 'A' ? -1 : 1;
      for (const m of p.meshes) {
        if (!m.userData.home) m.userData.home = m.position.clone();
        m.position.copy(m.userData.home);
        if (apart) {
          // move along RAS dir expressed in the mesh parent's frame
          const a = world.localToWorld(new THREE.Vector3(0, 0, 0));
          const b = world.localToWorld(dir.clone().multiplyScalar(sign * gapMm));
          const pa = m.parent.worldToLocal(a); const pb = m.parent.worldToLocal(b);
          m.position.add(pb.sub(pa));
        }
      }
    }
    const info = planStages.find((x) => x.number === s);
    if (s === 0) text.textContent = `Before separation: ${counted(n, 'stage')} planned.`;
    else text.textContent = `After stage ${s} of ${n}${stageWords(info)}${s === n ? ' — twins separated' : ''}`;
    api.stage = s;
    if (api.vrPanel) api.vrPanel.refresh(`Stage ${s} / ${n}`);
    requestRender();
  }
  slider.addEventListener('input', () => apply(parseInt(slider.value, 10)));
  pull.addEventListener('change', () => apply(parseInt(slider.value, 10)));
  $('sep-xray').addEventListener('change', () => apply(parseInt(slider.value, 10)));
  apply(0);
  return {
    n,
    set(s) { slider.value = String(Math.max(0, Math.min(n, s))); apply(parseInt(slider.value, 10)); },
    get() { return parseInt(slider.value, 10); },
  };
}

// --- clipping ----------------------------------------------------------------------------------
function setupClipping(boxRas, materials) {
  const axisSel = $('clip-axis'); const flip = $('clip-flip'); const pos = $('clip-pos');
  const text = $('clip-text');
  const AX = { sagittal: 0, coronal: 1, axial: 2 };
  const NAMES = ['x (R)', 'y (A)', 'z (S)'];
  function apply() {
    const a = axisSel.value;
    clipOn = a !== 'none';
    for (const m of materials()) { m.clippingPlanes = clipOn ? [clipWorld] : []; m.needsUpdate = true; }
    if (clipOn) {
      const i = AX[a];
      const lo = boxRas.min.getComponent(i); const hi = boxRas.max.getComponent(i);
      if (pos.dataset.axis !== a) {
        pos.min = lo.toFixed(1); pos.max = hi.toFixed(1); pos.step = '0.5';
        pos.value = ((lo + hi) / 2).toFixed(1); pos.dataset.axis = a;
      }
      const v = parseFloat(pos.value);
      const n = new THREE.Vector3(); n.setComponent(i, flip.checked ? 1 : -1);
      // keep points with n . p + c >= 0: the side opposite the normal's origin
      clipLocal.set(n, flip.checked ? -v : v);
      text.textContent = `Plane at ${NAMES[i]} = ${v.toFixed(1)} mm (world RAS), keeping the ${flip.checked ? 'upper/anterior/right' : 'lower/posterior/left'} side.`;
    } else text.textContent = '';
    requestRender();
  }
  axisSel.addEventListener('change', apply);
  flip.addEventListener('change', apply);
  pos.addEventListener('input', apply);
  apply();
  return apply;
}

// --- camera views ------------------------------------------------------------------------------
function setupViews(box, parts) {
  const centre = box.getCenter(new THREE.Vector3());
  const radius = Math.max(box.getSize(new THREE.Vector3()).length() / 2, 1);
  const ca = boxOf([...parts.values()].filter((p) => p.twin === 'A').flatMap((p) => p.meshes)).getCenter(new THREE.Vector3());
  const cb = boxOf([...parts.values()].filter((p) => p.twin === 'B').flatMap((p) => p.meshes)).getCenter(new THREE.Vector3());
  const axis = cb.clone().sub(ca);
  const dirRas = { anterior: [0, 1, 0], posterior: [0, -1, 0], left: [-1, 0, 0], right: [1, 0, 0], superior: [0, 0, 1] };
  function go(name) {
    let d;
    let up = new THREE.Vector3(0, 1, 0);
    if (name === 'default') {
      // perpendicular to the twin axis, as close to anterior as possible, then turned
      // 35 deg about the vertical and raised 20 deg for depth
      d = world.localToWorld(new THREE.Vector3(0, 1, 0)).sub(world.localToWorld(new THREE.Vector3()));
      if (axis.lengthSq() > 1e-9) {
        const u = axis.clone().normalize();
        d.sub(u.multiplyScalar(d.dot(u)));
        if (d.lengthSq() < 1e-6) d = new THREE.Vector3(1, 0, 0);
      }
      d.normalize().applyAxisAngle(new THREE.Vector3(0, 1, 0), THREE.MathUtils.degToRad(35));
      d.y += Math.tan(THREE.MathUtils.degToRad(20)); d.normalize();
    } else {
      const r = dirRas[name];
      d = world.localToWorld(new THREE.Vector3(...r)).sub(world.localToWorld(new THREE.Vector3())).normalize();
      if (name === 'superior') up = world.localToWorld(new THREE.Vector3(0, 1, 0)).sub(world.localToWorld(new THREE.Vector3())).normalize();
    }
    const dist = radius / Math.sin(THREE.MathUtils.degToRad(camera.fov / 2)) * 1.05;
    camera.up.copy(up);
    camera.position.copy(centre).addScaledVector(d, dist);
    camera.near = Math.max(dist / 100, 0.1); camera.far = dist * 10;
    camera.updateProjectionMatrix();
    controls.target.copy(centre);
    controls.update();
    requestRender();
  }
  for (const b of document.querySelectorAll('#views button')) b.addEventListener('click', () => go(b.dataset.view));
  go('default');
  return go;
}

// --- measurement -----------------------------------------------------------------------------
function setupMeasure(pickables) {
  const btn = $('measure-btn'); const out = $('measure-out');
  const ray = new THREE.Raycaster();
  let active = false; let pts = [];
  const group = new THREE.Group(); group.name = 'measure';
  world.add(group);
  const size = () => Math.max(camera.position.distanceTo(controls.target) / 150, 0.5);
  function clear() { group.clear(); pts = []; }
  btn.addEventListener('click', () => {
    active = !active; btn.setAttribute('aria-pressed', String(active));
    out.textContent = active ? 'Click the first point.' : 'Click the button, then two points on a surface.';
    clear(); requestRender();
  });
  function pick(clientX, clientY) {
    const r = renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    ray.setFromCamera(ndc, camera);
    const hits = ray.intersectObjects(pickables().filter((m) => m.visible && m.material.opacity > 0.05), false)
      .filter((h) => !clipOn || clipWorld.distanceToPoint(h.point) >= 0);
    return hits.length ? threeToRas(hits[0].point) : null;
  }
  let down = null;
  renderer.domElement.addEventListener('pointerdown', (e) => { down = [e.clientX, e.clientY]; });
  renderer.domElement.addEventListener('pointerup', (e) => {
    if (!active || !down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 4) return;
    const p = pick(e.clientX, e.clientY);
    if (!p) { out.textContent = 'No surface under the pointer: click on a model.'; return; }
    if (pts.length === 2) clear();
    pts.push(p);
    const dot = new THREE.Mesh(new THREE.SphereGeometry(size(), 12, 8),
      new THREE.MeshBasicMaterial({ color: 0xffffff, depthTest: false }));
    dot.renderOrder = 12; dot.position.set(...p); group.add(dot);
    if (pts.length === 2) {
      const a = new THREE.Vector3(...pts[0]); const b = new THREE.Vector3(...pts[1]);
      const line = new THREE.Line(new THREE.BufferGeometry().setFromPoints([a, b]),
        new THREE.LineBasicMaterial({ color: 0xffffff, depthTest: false }));
      line.renderOrder = 12; group.add(line);
      const d = a.distanceTo(b);
      out.textContent = `Distance: ${d.toFixed(1)} mm`;
      out.dataset.mm = String(d);
      api.lastMeasure = { a: pts[0], b: pts[1], distance_mm: d };
    } else out.textContent = `First point (${p.map((v) => v.toFixed(1)).join(', ')}) mm RAS; click the second.`;
    requestRender();
  });
}

// --- VR ---------------------------------------------------------------------------------------
function setupVR(boxRasSize, centreThree, stageCtl, colours) {
  const saved = {};
  const panel = makeVRPanel({
    'stage-': () => stageCtl.set(stageCtl.get() - 1),
    'stage+': () => stageCtl.set(stageCtl.get() + 1),
    twinA: () => { const c = $('toggle-A'); c.checked = !c.checked; c.dispatchEvent(new Event('change')); },
    twinB: () => { const c = $('toggle-B'); c.checked = !c.checked; c.dispatchEvent(new Event('change')); },
  }, colours);
  panel.refresh(`Stage ${stageCtl.get()} / ${stageCtl.n}`);
  api.vrPanel = panel;
  async function start(session) {
    saved.position = model.position.clone(); saved.scale = model.scale.clone();
    saved.background = scene.background;
    await renderer.xr.setSession(session);
    const table = $('vr-scale').value === 'table';
    // mm -> m: 1:1 is 0.001; table-top fits the largest extent into 0.5 m
    const s = table ? 0.5 / Math.max(boxRasSize, 1) : 0.001;
    model.scale.setScalar(s);
    model.position.set(0, 1.2, -0.6).sub(centreThree.clone().multiplyScalar(s));
    panel.group.position.set(-0.45, 1.0, -0.5);
    panel.group.lookAt(0, 1.5, 0);
    scene.add(panel.group);
    xrControllers = setupControllers(renderer, scene, model, panel, () => {});
    renderer.setAnimationLoop(render);
  }
  function end() {
    renderer.setAnimationLoop(null);
    scene.remove(panel.group);
    scene.attach(model);
    model.position.copy(saved.position); model.scale.copy(saved.scale);
    model.rotation.set(0, 0, 0);
    xrControllers = null;
    requestRender();
  }
  return setupVRButton($('vr-btn'), $('vr-status'), { start, end });
}

// --- main ---------------------------------------------------------------------------------------
async function main() {
  const [plan, info] = await Promise.all([getJSON('/plan.json'), getJSON('/api/info')]);
  const colours = {
    A: (plan.colours && plan.colours.A) || '#7B3FA0',
    B: (plan.colours && plan.colours.B) || '#F28C28',
  };
  const names = {
    A: (plan.twins && plan.twins.A && plan.twins.A.colour) || colours.A,
    B: (plan.twins && plan.twins.B && plan.twins.B.colour) || colours.B,
  };
  const sep = plan.separation || {};
  let stageCtl = null;
  let refine = null; // the full level of detail, fetched once the preview is drawn
  if (!info.scene.exists) {
    fail('This plan has no 3D scene (models/scene.glb): only the slices are shown.');
    buildLegend(new Map(), colours, names);
  } else {
    const xrHint = navigator.xr ? await navigator.xr.isSessionSupported('immersive-vr').catch(() => false) : false;
    const lod = new URLSearchParams(location.search).get('lod') || (xrHint ? 'vr' : 'desktop');
    // Progressive: a big scene is first drawn from a coarse preview (vertex clustering
    // on the server), then the chosen level replaces its geometry mesh by mesh.
    const budgets = info.scene.budget_faces || {};
    const progressive = lod !== 'preview' && budgets.preview > 0 && info.scene.faces > budgets.preview;
    const first = progressive ? 'preview' : lod;
    mark('info');
    const { root, parts, stages, others } = await loadScene(`/api/scene.glb?lod=${first}`, colours);
    mark('glb-loaded');
    world.add(root);
    world.updateMatrixWorld(true);
    const all = [...parts.values()].flatMap((p) => p.meshes).concat([...stages.values()].flat(), others);
    const box = boxOf(all);
    const boxRas = new THREE.Box3();
    for (const m of all) {
      const g = m.geometry; g.computeBoundingBox();
      const local = g.boundingBox.clone().applyMatrix4(new THREE.Matrix4().copy(world.matrixWorld).invert().multiply(m.matrixWorld));
      boxRas.union(local);
    }
    const sizeRas = boxRas.getSize(new THREE.Vector3());
    const markerMm = Math.max(sizeRas.length() / 40, 2);
    buildLegend(parts, colours, names);
    const markers = addCrossings(sep.vessel_crossings || [], sep.stages || [], markerMm);
    api.crossings = markers.map((mk) => ({ number: mk.number, stage: mk.stage }));
    stageCtl = setupStages(stages, sep.stages || [], markers, parts, Math.max(sizeRas.length() / 12, 5));
    const materials = () => all.map((m) => m.material);
    setupClipping(boxRas, materials);
    api.setView = setupViews(box, parts);
    setupMeasure(() => all.filter((m) => !stages.has(classifyStage(m, stages))));
    api.parts = [...parts.keys()];
    api.stages = stageCtl.n;
    const countFaces = () => all.reduce((n, m) => n + (m.geometry.index ? m.geometry.index.count / 3 : m.geometry.attributes.position.count / 3), 0);
    api.faces = countFaces();
    api.firstFaces = api.faces;
    api.lod = first;
    api.xr = await setupVR(Math.max(sizeRas.x, sizeRas.y, sizeRas.z), box.getCenter(new THREE.Vector3()), stageCtl, colours);
    const summary = `${counted(parts.size, 'structure')}, ${counted(stageCtl.n, 'stage')}, ${counted((sep.vessel_crossings || []).length, 'vessel crossing')}`;
    const showFaces = (level, note) => {
      const facesTxt = `${api.faces.toLocaleString('en')} faces (${level} level of detail${info.scene.faces > api.faces ? `, decimated from ${info.scene.faces.toLocaleString('en')}` : ''})`;
      $('status').textContent = `${summary}; ${facesTxt}${note}.`;
    };
    showFaces(first, progressive ? `; loading the ${lod} level…` : '');
    if (progressive) {
      refine = async () => {
        try {
          await refineScene(`/api/scene.glb?lod=${lod}`, all);
        } catch (err) {
          showFaces(first, `; the ${lod} level could not be loaded (${err.message})`);
          return;
        }
        api.faces = countFaces();
        api.lod = lod;
        showFaces(lod, '');
        // no read-back here: the page stays responsive while the GPU draws the full level
        requestRender();
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        api.refinedMs = performance.now() - t0;
        document.body.dataset.refined = '1';
      };
    }
  }
  api.camera = () => ({
    position_ras: threeToRas(camera.position), target_ras: threeToRas(controls.target),
    up_ras: (() => { const u = camera.up.clone(); const l = world.worldToLocal(u.add(world.localToWorld(new THREE.Vector3()))); return [l.x, l.y, l.z]; })(),
    fov_deg: camera.fov, width: renderer.domElement.clientWidth, height: renderer.domElement.clientHeight,
  });
  api.project = (ras) => {
    const v = rasToThree(ras).project(camera);
    const r = renderer.domElement.getBoundingClientRect();
    return [r.left + (v.x + 1) / 2 * r.width, r.top + (1 - v.y) / 2 * r.height];
  };
  api.setStage = (s) => stageCtl && stageCtl.set(s);
  if (!api.xr) api.xr = await setupVRButton($('vr-btn'), $('vr-status'), { start: async () => { throw new Error('no 3D scene'); }, end() {} });
  mark('setup');
  renderNow();
  api.readyMs = performance.now() - t0;
  api.ready = true;
  document.body.dataset.ready = '1';
  // Only now the server reads the CT (on the first slice request) and the full level of
  // detail arrives: neither competes with the first picture.
  const slicesReady = getJSON('/api/slices/info').then((si) => setupSlices(si, colours))
    .catch((err) => { $('slice-text').textContent = `Slices not available: ${err.message}`; });
  if (refine) await refine();
  await slicesReady;
}

function classifyStage(mesh, stages) {
  for (const [k, meshes] of stages) if (meshes.includes(mesh)) return k;
  return -1;
}

main().catch((err) => fail(`The viewer could not start: ${err && err.message ? err.message : err}`));
