// The time axis of a timeline: which unit it speaks in (s, ms, µs), where
// its ticks go at a zoom, and how many decimals tell neighbouring times apart.

/** Decimals that make neighbouring times distinct at this zoom. */
export function timeDecimals(span) {
  if (span >= 10) return 3;
  if (span >= 0.1) return 4;
  const d = Math.floor(-Math.log10(span)) + 4;
  return Math.min(9, Number.isFinite(d) ? d : 4);
}

/** The smallest 1-2-5 step whose ticks are at least minGap pixels apart. */
function niceStep(span, plotWidth, minGap) {
  let step = Math.pow(10, Math.floor(Math.log10(span)) - 3);
  for (let i = 0; i < 40; i++) {
    for (const m of [1, 2, 5]) {
      if ((plotWidth * step * m) / span >= minGap) return step * m;
    }
    step *= 10;
  }
  return span;
}

/** The unit the axis speaks in: seconds, milliseconds or microseconds. */
export function axisUnit(span) {
  if (span >= 1) return { scale: 1, name: "s" };
  if (span >= 1e-3) return { scale: 1e3, name: "ms" };
  return { scale: 1e6, name: "\u00b5s" };
}

/** The ticks between t0 and t1 on a plot this wide: [{t, label}]. */
export function ticksFor(t0, t1, plotWidth) {
  const span = t1 - t0;
  const step = niceStep(span, plotWidth, 64);
  const unit = axisUnit(span);
  const decimals = Math.max(0, -Math.floor(Math.log10(step * unit.scale) + 1e-9));
  const ticks = [];
  const first = Math.ceil(t0 / step - 1e-9);
  for (let i = first; i * step <= t1 * (1 + 1e-12) + 1e-15 && ticks.length < 200; i++) {
    const t = i * step;
    const value = Number((t * unit.scale).toFixed(decimals));
    ticks.push({ t, label: `${value} ${unit.name}` });
  }
  return ticks;
}
