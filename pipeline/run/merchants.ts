/**
 * Merchants (ISV mode): every dataset's CSV may carry an `app_auth_token` column, the token of the merchant each
 * row is sent for; rows without one take `--app-auth-token`, or go without. A token is a secret: it is held in
 * memory for this run only. The ledger, the summary and every report name a merchant by its id, the ledger's
 * keyed hash of the token (`#` and its first 8 characters when shown), and by the first row that named it.
 */
import type { Dataset } from '../../sources/dataset.js';

/** The column that carries a row's merchant, in every dataset's CSV. */
export const TOKEN_COLUMN = 'app_auth_token';
/** As the API pages say of app_auth_token: String(40). */
export const MAX_TOKEN_LENGTH = 40;

/** A dataset's header check, with the merchant column known (it is no dataset field: it says where a row goes). */
export function checkHeaderWithToken(dataset: Dataset, columns: readonly string[]): { missing: string[]; unknown: string[]; hasToken: boolean } {
  const { missing, unknown } = dataset.checkHeader(columns.filter((c) => c !== TOKEN_COLUMN));
  return { missing, unknown, hasToken: columns.includes(TOKEN_COLUMN) };
}

/** The merchant id of a token: the ledger's keyed hash (the same the ledger bound older runs' merchant by). */
export function merchantId(hash: (text: string) => string, token: string): string {
  return hash('merchant\u0000' + token);
}

/** How a merchant is named to people: `#` and the first 8 characters of its id, or "no merchant". */
export function merchantLabel(merchant: string): string {
  return merchant === '' ? 'no merchant' : `#${merchant.slice(0, 8)}`;
}

/** What a token cell may hold: printable ASCII, no spaces (the reason never repeats the value: it is a secret). */
export function tokenProblem(token: string): string | null {
  if (token.length > MAX_TOKEN_LENGTH) return `expected at most ${MAX_TOKEN_LENGTH} characters, got ${token.length}`;
  if (!/^[\x21-\x7e]+$/.test(token)) return 'expected letters, digits and punctuation only (an app_auth_token as Alipay gives it)';
  return null;
}

/** The merchants of one run: each token met, its id, and the first row that named it. */
export class MerchantBook {
  private readonly ids = new Map<string, string>();
  private readonly tokens = new Map<string, string>();
  private readonly first = new Map<string, string>();
  readonly defaultMerchant: string;

  constructor(private readonly hash: (text: string) => string, defaultToken?: string) {
    this.defaultMerchant = defaultToken ? this.add(defaultToken, '--app-auth-token') : '';
  }

  private add(token: string, where: string): string {
    let id = this.ids.get(token);
    if (id === undefined) {
      id = merchantId(this.hash, token);
      this.ids.set(token, id);
      this.tokens.set(id, token);
      this.first.set(id, where);
    }
    return id;
  }

  /** The merchant of a row by its token cell (empty: the default), or why the cell is refused. */
  of(cell: string | undefined, file: string, line: number): { merchant: string } | { error: string } {
    const token = cell?.trim() ?? '';
    if (token === '') return { merchant: this.defaultMerchant };
    const problem = tokenProblem(token);
    if (problem) return { error: problem };
    return { merchant: this.add(token, `${file}:${line}`) };
  }

  /** The token of a merchant met in this run (undefined: none, e.g. rows an earlier run left pending). */
  token(merchant: string): string | undefined {
    return this.tokens.get(merchant);
  }

  /** Where a merchant was first named in this run: `file:line`, or `--app-auth-token`. */
  firstSeen(merchant: string): string | undefined {
    return this.first.get(merchant);
  }

  /** Whether this run has merchants at all (a token column or --app-auth-token). */
  get any(): boolean {
    return this.tokens.size > 0;
  }
}
