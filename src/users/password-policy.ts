import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Worker } from 'node:worker_threads';
import { badRequest, DomainError } from '../common/errors';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.service';
import { UsersError } from './users.errors';

/**
 * zxcvbn's score at least this (0–4). 3 is "safely unguessable: moderate protection from an
 * offline slow-hash scenario" (< 10^10 guesses) in zxcvbn's own scale; our hashes are argon2id.
 */
export const MIN_SCORE = 3;
/**
 * zxcvbn's matching grows fast with length (a 100-character input can take seconds): only the
 * first characters are estimated. A password whose first 64 characters are strong is strong.
 */
const ESTIMATE_CHARS = 64;
/** Estimates waiting for the worker at most; more are refused at once (429) rather than queued. */
const MAX_WAITING = 32;

/** Who the password is for: it must not be their email address or name (NIST SP 800-63B §5.1.1.2: context-specific words). */
export interface PasswordOwner {
  email: string;
  firstName?: string | null;
  lastName?: string | null;
}

/**
 * The worker's code. zxcvbn is synchronous and takes tens to hundreds of milliseconds per
 * estimate: on the event loop that would stall every request while someone sets a password,
 * so it runs in one worker thread. Plain JS (workers do not load TypeScript), and the modules
 * are passed as resolved paths so it finds them wherever the service runs.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { ZxcvbnFactory } = require(workerData.core);
const common = require(workerData.common);
const en = require(workerData.en);
const z = new ZxcvbnFactory({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations, maxLength: workerData.maxLength });
parentPort.on('message', ({ id, password, inputs }) => {
  try {
    const r = z.check(password, inputs);
    parentPort.postMessage({ id, score: r.score, warning: r.feedback.warning || null, suggestions: r.feedback.suggestions || [] });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message) });
  }
});
`;

interface Estimate {
  score: number;
  warning: string | null;
  suggestions: string[];
}

/**
 * The one password rule, applied wherever a password is set (UsersService.create and
 * setPassword, which the admin API, the console, invitations, resets and the account page
 * all go through): 12–256 characters, not the owner's email address or name, and a zxcvbn
 * strength estimate (@zxcvbn-ts with its common and English dictionaries) of at least
 * MIN_SCORE. A refusal is a 400 `weak_password` saying what is wrong in words.
 */
@Injectable()
export class PasswordPolicy implements OnModuleDestroy {
  private worker: Worker | null = null;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (e: Estimate) => void; reject: (e: Error) => void }>();

  async check(password: string, owner: PasswordOwner): Promise<void> {
    const problem = await this.problem(password, owner);
    if (problem) throw badRequest(UsersError.WeakPassword, problem);
  }

  /** What is wrong with the password, in a sentence, or null when it passes. */
  async problem(password: string, owner: PasswordOwner): Promise<string | null> {
    // Characters as people count them (code points), after the NFKC normalisation hashing uses.
    const length = [...password.normalize('NFKC')].length;
    if (length < PASSWORD_MIN_LENGTH) return `password must be at least ${PASSWORD_MIN_LENGTH} characters long`;
    if (length > PASSWORD_MAX_LENGTH) return `password must be at most ${PASSWORD_MAX_LENGTH} characters long`;
    const words = ownerWords(owner);
    const lower = password.toLowerCase();
    if (words.some((w) => lower.includes(w))) return 'password must not contain your email address or your name';
    const e = await this.estimate(password, words);
    if (e.score >= MIN_SCORE) return null;
    const why = e.warning ? ` ${sentence(e.warning)}` : '';
    const how = e.suggestions.length ? ` ${e.suggestions.map(sentence).join(' ')}` : ' Use a longer phrase of several unrelated words.';
    return `password is too easy to guess.${why}${how}`;
  }

  onModuleDestroy(): Promise<number> | undefined {
    const w = this.worker;
    this.worker = null;
    return w?.terminate();
  }

  private estimate(password: string, inputs: string[]): Promise<Estimate> {
    if (this.pending.size >= MAX_WAITING) {
      return Promise.reject(Object.assign(new DomainError('too_busy', 429, 'Too many passwords are being checked right now. Try again in a moment.'), { retryAfterSeconds: 1 }));
    }
    const worker = this.ensureWorker();
    const id = this.next++;
    return new Promise<Estimate>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, password, inputs });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        core: require.resolve('@zxcvbn-ts/core'),
        common: require.resolve('@zxcvbn-ts/language-common'),
        en: require.resolve('@zxcvbn-ts/language-en'),
        maxLength: ESTIMATE_CHARS,
      },
    });
    // An idle worker does not keep the process alive (CLIs exit when done).
    w.unref();
    w.on('message', (m: { id: number; error?: string } & Estimate) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`password strength estimate failed: ${m.error}`));
      else p.resolve(m);
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`password strength worker exited (${code})`)));
    this.worker = w;
    return w;
  }
}

/** The owner's email, its local part and domain labels, and names: lower-cased, 3+ characters (shorter ones match too much by chance). */
export function ownerWords(owner: PasswordOwner): string[] {
  const email = owner.email.toLowerCase();
  const [local] = email.split('@');
  const names = [owner.firstName, owner.lastName].flatMap((n) => (n ?? '').toLowerCase().split(/\s+/));
  const localParts = local.split(/[._+-]+/);
  const all = [email, local, ...localParts, ...names];
  return [...new Set(all.filter((w) => w.length >= 3))];
}

function sentence(s: string): string {
  const t = s.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
