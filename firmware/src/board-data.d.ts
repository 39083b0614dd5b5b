/**
 * The board constants, generated at build time from hardware/ by scripts/build-firmware.ts
 * (as board-data.js next to the compiled main.js) so the minifier treats them as code.
 */
import type { FirmwareBoard } from './board';

export declare const BOARD: FirmwareBoard;
