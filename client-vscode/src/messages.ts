// Text for VS Code's notifications, which cut long messages: one sentence,
// at most ~90 characters; the details go to the output channel.

/** A notification short enough for a toast; the whole message and its stack go to the "Metro" output channel. */
export function shortMessage(message: string, max = 90): string {
  const first = message.split("\n")[0].replace(/\s+/g, " ").trim();
  const sentence = /^(.*?[.!?])(\s|$)/.exec(first)?.[1] ?? first;
  if (sentence.length <= max) return sentence;
  const cut = sentence.slice(0, max - 1);
  return cut.slice(0, Math.max(cut.lastIndexOf(" "), max / 2)).replace(/[\s,;:]+$/, "") + "…";
}
