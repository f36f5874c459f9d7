// Replay: play a run back at its own pace (as the Go playground plays back
// timed output) or faster, or scrub through it with a slider. The page
// passes onCursor(t), called with the time to show (null: show everything).

const STEPS = 1000;
export const SPEEDS = [
  ["1", "1\u00d7 (its own pace)"],
  ["2", "2\u00d7"],
  ["10", "10\u00d7"],
  ["100", "100\u00d7"],
  ["fit", "whole run in 5 s"],
];

export function initReplay(root, { onCursor }) {
  const play = root.querySelector('[data-testid="replay-play"]');
  const speed = root.querySelector('[data-testid="replay-speed"]');
  const slider = root.querySelector('[data-testid="replay-slider"]');
  const clock = root.querySelector('[data-testid="replay-time"]');
  for (const [value, label] of SPEEDS) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    speed.appendChild(option);
  }
  speed.value = "1";
  slider.min = "0";
  slider.max = String(STEPS);
  slider.step = "1";

  let duration = 0;
  let cursor = null;
  let frame = 0;
  let last = 0;

  const show = (t) => {
    cursor = t;
    slider.value = String(t === null ? STEPS : Math.round((t / (duration || 1)) * STEPS));
    slider.setAttribute("aria-valuetext", t === null ? "the whole run" : `${t.toFixed(3)} s`);
    clock.textContent = t === null ? "" : `${t.toFixed(3)} s`;
    onCursor(t);
  };
  const rate = () => (speed.value === "fit" ? duration / 5 : Number(speed.value) || 1);
  const stop = () => {
    cancelAnimationFrame(frame);
    frame = 0;
    play.textContent = "\u25b6 Replay";
    play.setAttribute("aria-pressed", "false");
    root.classList.remove("is-playing");
  };
  const tick = (now) => {
    const t = Math.min(duration, (cursor || 0) + ((now - last) / 1000) * rate());
    last = now;
    if (t >= duration) {
      stop();
      show(null);
      return;
    }
    show(t);
    frame = requestAnimationFrame(tick);
  };
  play.addEventListener("click", () => {
    if (frame) {
      stop();
      return;
    }
    if (!(duration > 0)) return;
    if (cursor === null || cursor >= duration) show(0);
    last = performance.now();
    play.textContent = "\u275a\u275a Pause";
    play.setAttribute("aria-pressed", "true");
    root.classList.add("is-playing");
    frame = requestAnimationFrame(tick);
  });
  slider.addEventListener("input", () => {
    stop();
    const value = Number(slider.value);
    show(value >= STEPS ? null : (value / STEPS) * duration);
  });

  return {
    /** A new run: reset to showing everything. */
    load(newDuration) {
      stop();
      duration = Number.isFinite(newDuration) && newDuration > 0 ? newDuration : 0;
      root.hidden = !(duration > 0);
      cursor = null;
      slider.value = String(STEPS);
      clock.textContent = "";
    },
    stop,
    get cursor() {
      return cursor;
    },
  };
}
