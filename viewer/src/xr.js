// "Enter VR" with WebXR: a button that says why when VR is not possible, controllers
// that grab / rotate / scale the model, and a panel with the stage slider inside VR.
import * as THREE from 'three';

const SESSION_INIT = { optionalFeatures: ['local-floor', 'bounded-floor'] };
const START_TIMEOUT_S = 15;

function setButton(btn, state, text, enabled) {
  btn.dataset.xr = state;
  btn.textContent = text;
  btn.disabled = !enabled;
}

/** Check WebXR and wire the button; hooks.start(session) enters VR. Returns the state. */
export async function setupVRButton(btn, statusEl, hooks) {
  if (!('xr' in navigator) || !navigator.xr) {
    setButton(btn, 'unavailable', 'VR not available: this browser has no WebXR', false);
    statusEl.textContent = 'Use a WebXR browser (e.g. a standalone headset\'s browser, or Chrome with a headset connected).';
    return 'unavailable';
  }
  if (!window.isSecureContext) {
    setButton(btn, 'insecure', 'VR needs https or localhost', false);
    return 'insecure';
  }
  let supported = false;
  try {
    supported = await navigator.xr.isSessionSupported('immersive-vr');
  } catch (err) {
    statusEl.textContent = `WebXR check failed: ${err && err.message ? err.message : err}`;
  }
  if (!supported) {
    setButton(btn, 'unsupported', 'VR not supported: no headset found', false);
    return 'unsupported';
  }
  setButton(btn, 'ready', 'Enter VR', true);
  let current = null;
  btn.addEventListener('click', async () => {
    if (current) { current.end(); return; }
    setButton(btn, 'starting', 'Starting VR…', false);
    let session;
    try {
      session = await navigator.xr.requestSession('immersive-vr', SESSION_INIT);
    } catch (err) {
      setButton(btn, 'ready', 'Enter VR', true);
      statusEl.textContent = `VR session refused: ${err && err.message ? err.message : err}`;
      return;
    }
    try {
      // a device that never answers must not leave the button hanging
      await Promise.race([
        hooks.start(session),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer from the headset within ${START_TIMEOUT_S} s`)), START_TIMEOUT_S * 1000)),
      ]);
      current = session;
      session.addEventListener('end', () => {
        current = null;
        hooks.end();
        setButton(btn, 'ready', 'Enter VR', true);
      });
      setButton(btn, 'running', 'Exit VR', true);
      statusEl.textContent = 'In VR: squeeze to grab and turn, squeeze both to scale, trigger on the panel for stages.';
    } catch (err) {
      setButton(btn, 'failed', 'Enter VR (last try failed)', true);
      statusEl.textContent = `VR session could not start: ${err && err.message ? err.message : err}`;
      try { session.end(); } catch (e) { /* already ended */ }
    }
  });
  return 'ready';
}

function textTexture(text, w = 256, h = 64, bg = '#3c4043') {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  const g = c.getContext('2d');
  g.fillStyle = bg; g.fillRect(0, 0, w, h);
  g.fillStyle = '#ffffff';
  g.font = `bold ${Math.round(h * 0.5)}px sans-serif`;
  g.textAlign = 'center'; g.textBaseline = 'middle';
  g.fillText(text, w / 2, h / 2);
  const t = new THREE.CanvasTexture(c);
  t.colorSpace = THREE.SRGBColorSpace;
  return t;
}

/**
 * A floating panel (metres) with buttons; actions[name]() is called on press.
 * Returns { group, buttons, press(name), refresh(label) }.
 */
export function makeVRPanel(actions, colours) {
  const group = new THREE.Group();
  group.name = 'vr-panel';
  const buttons = [];
  const title = new THREE.Mesh(
    new THREE.PlaneGeometry(0.36, 0.06),
    new THREE.MeshBasicMaterial({ map: textTexture('Stage 0 / 0', 512, 86) }),
  );
  title.position.set(0, 0.08, 0);
  group.add(title);
  const defs = [
    ['stage-', '−', -0.135, 0, '#3c4043'], ['stage+', '+', -0.045, 0, '#3c4043'],
    ['twinA', 'A', 0.045, 0, colours.A], ['twinB', 'B', 0.135, 0, colours.B],
  ];
  for (const [name, label, x, y, bg] of defs) {
    const m = new THREE.Mesh(
      new THREE.PlaneGeometry(0.08, 0.06),
      new THREE.MeshBasicMaterial({ map: textTexture(label, 128, 96, bg) }),
    );
    m.position.set(x, y, 0);
    m.userData.action = name;
    group.add(m);
    buttons.push(m);
  }
  return {
    group,
    buttons,
    press(name) { if (actions[name]) actions[name](); },
    refresh(label) {
      title.material.map.dispose();
      title.material.map = textTexture(label, 512, 86);
      title.material.needsUpdate = true;
    },
  };
}

/**
 * Controllers: a ray each; squeeze grabs the model (rotate and move with the hand),
 * squeeze with both hands scales it; trigger presses a panel button under the ray.
 */
export function setupControllers(renderer, scene, model, panel, onChange) {
  const ray = new THREE.Raycaster();
  const grabbing = new Set();
  let twoHand = null;
  const controllers = [0, 1].map((i) => {
    const c = renderer.xr.getController(i);
    const line = new THREE.Line(
      new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3(0, 0, -1)]),
      new THREE.LineBasicMaterial({ color: 0xffffff }),
    );
    line.scale.z = 2;
    c.add(line);
    const grip = renderer.xr.getControllerGrip(i);
    grip.add(new THREE.Mesh(
      new THREE.BoxGeometry(0.03, 0.03, 0.12),
      new THREE.MeshStandardMaterial({ color: 0x888888 }),
    ));
    scene.add(c); scene.add(grip);
    c.addEventListener('selectstart', () => {
      const m = new THREE.Matrix4().extractRotation(c.matrixWorld);
      ray.ray.origin.setFromMatrixPosition(c.matrixWorld);
      ray.ray.direction.set(0, 0, -1).applyMatrix4(m);
      const hit = ray.intersectObjects(panel.buttons, false)[0];
      if (hit) panel.press(hit.object.userData.action);
    });
    c.addEventListener('squeezestart', () => {
      grabbing.add(c);
      if (grabbing.size === 2) {
        scene.attach(model);
        const [a, b] = [...grabbing];
        twoHand = { d0: a.position.distanceTo(b.position), s0: model.scale.x };
      } else {
        c.attach(model);
      }
    });
    c.addEventListener('squeezeend', () => {
      grabbing.delete(c);
      twoHand = null;
      scene.attach(model);
      if (grabbing.size === 1) [...grabbing][0].attach(model);
      onChange();
    });
    return c;
  });
  return {
    controllers,
    update() {
      if (twoHand && grabbing.size === 2) {
        const [a, b] = [...grabbing];
        const d = a.position.distanceTo(b.position);
        if (twoHand.d0 > 1e-4) model.scale.setScalar(twoHand.s0 * d / twoHand.d0);
      }
    },
  };
}
