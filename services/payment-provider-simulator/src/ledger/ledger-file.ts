import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { LedgerEntrySchema, type LedgerEntry } from '../provider/ledger';
import type { LedgerSink } from '../provider/payment-provider';

/**
 * The ledger as a JSON-lines file: one entry per line, appended synchronously before the entry
 * counts, so a killed or restarted simulator keeps the evidence of every charge it answered.
 * (Appended, not fsynced: it survives a process crash, not a machine crash.)
 */
export class JsonLinesLedgerFile implements LedgerSink {
  constructor(readonly path: string) {}

  /**
   * Reads the entries back. A last line without its newline is a write cut short by a crash: it
   * is dropped (and cut from the file, so the next append starts on a fresh line). Any other bad
   * line is an error: the evidence is damaged and guessing would hide it.
   */
  load(): { entries: LedgerEntry[]; droppedTornLine: boolean } {
    if (!existsSync(this.path)) return { entries: [], droppedTornLine: false };
    const text = readFileSync(this.path, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    const droppedTornLine = complete < text.length;
    if (droppedTornLine) truncateSync(this.path, Buffer.byteLength(text.slice(0, complete)));
    const entries = text
      .slice(0, complete)
      .split('\n')
      .map((line, index) => ({ line, number: index + 1 }))
      .filter(({ line }) => line.trim() !== '')
      .map(({ line, number }) => this.parse(line, number));
    return { entries, droppedTornLine };
  }

  append(entry: LedgerEntry): void {
    mkdirSync(dirname(this.path), { recursive: true });
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
  }

  clear(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(this.path, '');
  }

  private parse(line: string, number: number): LedgerEntry {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new Error(`${this.path}:${number}: not JSON`);
    }
    const result = LedgerEntrySchema.safeParse(json);
    if (!result.success) {
      throw new Error(`${this.path}:${number}: not a ledger entry: ${result.error.message}`);
    }
    return result.data;
  }
}
