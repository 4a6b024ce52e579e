// Colour helpers shared by the legend, the meshes and the VR panel.

/** Darken (f < 1) or lighten (f > 1) a #RRGGBB colour, like twinsep.labels.shade. */
export function shade(hex, f) {
  const h = hex.replace('#', '');
  const rgb = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  const out = f <= 1
    ? rgb.map((c) => Math.round(c * f))
    : rgb.map((c) => Math.round(c + (255 - c) * Math.min(f - 1, 1)));
  return '#' + out.map((c) => c.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/** Lightness factor per structure: every structure keeps its twin's hue. Planned
 *  implants (tissue expanders, cranioplasty templates) differ clearly from the skin. */
export const STRUCTURE_SHADE = {
  skin: 1.0, soft_tissue: 1.0, scalp: 1.0, bone: 1.45, skull: 1.45, brain: 0.8,
  csf: 1.3, vessel: 0.55, vessels: 0.55, sinus: 0.55, expander: 0.7, cranioplasty: 1.75,
};

/** Shade of a structure name such as "bone" or "expander_A1" (looked up by its stem). */
export function structureShade(structure) {
  const s = structure.toLowerCase();
  if (s in STRUCTURE_SHADE) return STRUCTURE_SHADE[s];
  const stem = s.split(/[_\-\s\d]/)[0];
  return STRUCTURE_SHADE[stem] ?? 1.0;
}

export const SEPARATION_DONE = '#12A4A4';   // divided surface (teal, like the slices)
export const SEPARATION_PLANNED = '#9AA0A6'; // not yet divided (grey, faint)
export const CROSSING_COLOUR = '#1F4FD6';    // vessel crossing still to divide
export const CROSSING_DONE = '#5F6368';      // vessel crossing already divided
