// Load scene.glb and sort its meshes into twin x structure and separation stages.
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
import { shade, structureShade, SEPARATION_PLANNED } from './colours.js';

const TWIN_RE = /^(A|B)[/_](.+)$/;
const STAGE_RE = /^separation[/_]stage[_-]?(\d+)$/i;

function originalName(obj) {
  return (obj.userData && obj.userData.name) || obj.name || '';
}

/** Find the twin / structure or stage of a mesh from its own or an ancestor's name. */
export function classify(mesh) {
  for (let o = mesh; o; o = o.parent) {
    const name = originalName(o);
    let m = STAGE_RE.exec(name);
    if (m) return { kind: 'stage', stage: parseInt(m[1], 10) };
    m = TWIN_RE.exec(name);
    if (m) return { kind: 'twin', twin: m[1], structure: m[2] };
    if (/^separation/i.test(name)) return { kind: 'stage', stage: 1 };
  }
  return { kind: 'other' };
}

/**
 * Load the GLB (world mm, RAS) and return { root, parts, stages, others }.
 * parts: Map key "A/skin" -> {twin, structure, meshes: [], colour}
 * stages: Map number -> meshes[]
 */
/** Name that identifies a mesh across levels of detail: its own or nearest ancestor's. */
export function meshKey(mesh) {
  for (let o = mesh; o; o = o.parent) {
    const name = originalName(o);
    if (name) return name;
  }
  return '';
}

/**
 * Replace the geometry of already-shown meshes by that of another level of detail of
 * the same scene (matched by name and order), keeping materials, visibility and
 * positions. Returns the number of meshes replaced.
 */
export async function refineScene(url, meshes) {
  const gltf = await new GLTFLoader().loadAsync(url);
  const queue = new Map();
  gltf.scene.traverse((obj) => {
    if (!obj.isMesh) return;
    const k = meshKey(obj);
    if (!queue.has(k)) queue.set(k, []);
    queue.get(k).push(obj.geometry);
  });
  let replaced = 0;
  for (const m of meshes) {
    const next = (queue.get(meshKey(m)) || []).shift();
    if (!next) continue;
    m.geometry.dispose();
    next.computeBoundingSphere();
    next.computeBoundingBox();
    m.geometry = next;
    replaced += 1;
  }
  return replaced;
}

export async function loadScene(url, colours) {
  const gltf = await new GLTFLoader().loadAsync(url);
  const root = gltf.scene;
  const parts = new Map();
  const stages = new Map();
  const others = [];
  root.traverse((obj) => {
    if (!obj.isMesh) return;
    const c = classify(obj);
    obj.geometry.computeBoundingSphere();
    if (c.kind === 'twin') {
      const key = `${c.twin}/${c.structure}`;
      if (!parts.has(key)) {
        const base = colours[c.twin];
        const f = structureShade(c.structure);
        parts.set(key, { twin: c.twin, structure: c.structure, meshes: [], colour: shade(base, f) });
      }
      const part = parts.get(key);
      // keep the opacity the models stage chose (e.g. CSF see-through), not its colour
      const src = obj.material;
      const opacity = src && src.transparent ? Math.max(0.05, Math.min(1, src.opacity)) : 1;
      part.opacity = Math.min(part.opacity ?? 1, opacity);
      obj.material = new THREE.MeshStandardMaterial({
        color: part.colour, roughness: 0.75, metalness: 0.0, side: THREE.DoubleSide,
        opacity, transparent: opacity < 1, depthWrite: opacity >= 1,
      });
      part.meshes.push(obj);
    } else if (c.kind === 'stage') {
      obj.material = new THREE.MeshStandardMaterial({
        color: SEPARATION_PLANNED, roughness: 0.6, side: THREE.DoubleSide,
        transparent: true, opacity: 0.3, depthWrite: false,
      });
      obj.renderOrder = 2;
      if (!stages.has(c.stage)) stages.set(c.stage, []);
      stages.get(c.stage).push(obj);
    } else {
      others.push(obj);
    }
  });
  return { root, parts, stages, others };
}
