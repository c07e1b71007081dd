// A small typed event emitter: the model announces what happened and the
// layers above (the server's publisher, the status bar) listen. Data flows
// one way; the model never calls into its users.

export class Emitter<Events extends Record<string, unknown[]>> {
  private listeners: { [K in keyof Events]?: ((...args: Events[K]) => void)[] } = {};

  /** Listens to an event; returns the function that stops listening. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    (this.listeners[event] ??= []).push(listener);
    return () => {
      this.listeners[event] = this.listeners[event]?.filter((l) => l !== listener);
    };
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const l of this.listeners[event] ?? []) l(...args);
  }
}
