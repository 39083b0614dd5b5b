/**
 * Where frames come from. A source delivers raw text (bytes decoded as latin1, so one
 * byte is one character, as the protocol's LineSplitter expects) and, when it can, takes
 * command lines back to the MCU.
 */

export interface SourceEvents {
  data(chunk: string): void;
  /**
   * The source opened (a connection, the port, the file). afterSilence: it was reopened
   * because the link before it carried no valid frame for the silence limit, so the MCU
   * is no more heard now than it was then.
   */
  up(afterSilence?: boolean): void;
  /** The source closed or failed to open; it retries on its own unless it is a replay. */
  down(reason: string): void;
  /** A replay reached the end of its input. Live sources never end. */
  end(): void;
}

export interface Source {
  /** For logs: `tcp://host:port`, `serial:/dev/ttyACM0@115200`, `file:capture.log`. */
  readonly description: string;
  start(events: SourceEvents): void;
  /** Sends a line to the MCU; rejects when the source is down or cannot send. */
  write(text: string): Promise<void>;
  isUp(): boolean;
  /** Told of each valid frame decoded from this source (live sources use it to judge the link). */
  frameArrived?(): void;
  /**
   * While any caller holds it (counted), read each line as it comes instead of pacing a
   * trickle (a live page is open). Sources that do not pace ignore it.
   */
  readPromptly?(on: boolean): void;
  /** A live source's silence limit: no valid frame for this long and the link is reopened (0 = never). */
  readonly silenceLimitMs?: number;
  stop(): Promise<void>;
}

export class SourceUnavailableError extends Error {}
