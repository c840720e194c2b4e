// The typing game's arithmetic, with no DOM: what was typed against the text, speed and accuracy.
//
// - WPM counts correct characters, five to a word, over the time since the first key (net speed: errors
//   left in place do not count).
// - Accuracy is the share of keystrokes that were right when typed: a typo corrected later still counts
//   against it, as in most typing tests.
// - The game is over when the typed text equals the text exactly.

export const MAX_WPM = 300; // what the records service accepts

export class Typing {
  constructor(text) {
    this.text = text;
    this.typed = "";
    this.keystrokes = 0;
    this.mistakes = 0;
    this.startedAt = 0;
    this.finishedAt = 0;
  }

  get started() {
    return this.startedAt > 0;
  }

  get finished() {
    return this.finishedAt > 0;
  }

  /** The input's new value at time `now` (ms, performance.now()). */
  update(value, now) {
    if (this.finished) {
      return;
    }
    if (!this.started && value.length > 0) {
      this.startedAt = now;
    }
    const previous = this.typed;
    let same = 0;
    while (same < previous.length && same < value.length && previous[same] === value[same]) {
      same += 1;
    }
    for (let i = same; i < value.length; i += 1) {
      this.keystrokes += 1;
      if (value[i] !== this.text[i]) {
        this.mistakes += 1;
      }
    }
    this.typed = value;
    if (value === this.text) {
      this.finishedAt = now;
    }
  }

  /** The state of character `i` of the text: "ok", "error", "current" (the next to type) or "todo". */
  state(i) {
    if (i < this.typed.length) {
      return this.typed[i] === this.text[i] ? "ok" : "error";
    }
    return i === this.typed.length ? "current" : "todo";
  }

  /** The positions typed wrong and not yet corrected. */
  errorPositions() {
    const out = [];
    for (let i = 0; i < this.typed.length; i += 1) {
      if (this.typed[i] !== this.text[i]) {
        out.push(i);
      }
    }
    return out;
  }

  correctCharacters() {
    let count = 0;
    for (let i = 0; i < this.typed.length; i += 1) {
      count += this.typed[i] === this.text[i] ? 1 : 0;
    }
    return count;
  }

  /** Seconds since the first key (until the end, once finished). */
  seconds(now) {
    if (!this.started) {
      return 0;
    }
    return ((this.finished ? this.finishedAt : now) - this.startedAt) / 1000;
  }

  wpm(now) {
    const minutes = this.seconds(now) / 60;
    if (minutes <= 0) {
      return 0;
    }
    return this.correctCharacters() / 5 / minutes;
  }

  accuracy() {
    if (this.keystrokes === 0) {
      return 100;
    }
    return ((this.keystrokes - this.mistakes) / this.keystrokes) * 100;
  }

  /** The body of POST /records for a finished game. */
  record(playerId, textId) {
    const end = this.finishedAt;
    return {
      player_id: playerId,
      text_id: textId,
      wpm: round(this.wpm(end), 2),
      accuracy: round(this.accuracy(), 2),
      duration_seconds: Math.max(0.001, round(this.seconds(end), 3)),
    };
  }
}

export function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** How a character is named to a screen reader: spaces are otherwise silent. */
export function describeCharacter(character) {
  if (character === " ") {
    return "space";
  }
  if (character === undefined || character === "") {
    return "nothing";
  }
  return `“${character}”`;
}
