/**
 * Behaviours of the real gateway that the sandbox shows only when asked (`SandboxOptions.behaviours`,
 * `alipay-sync sandbox --behave NAME`, `POST /_sandbox/behaviours`). Each is something Alipay really does
 * some of the time, that a client must survive.
 */
export type BehaviourName =
  /** worker-contract success answers are just {"code":"10000","msg":"Success"}: no biz_success */
  | 'noBizSuccess'
  /** a second sign.effect on a NORMAL agreement answers success (the default is USER_AGREEMENT_PERIOD_CONFILICT) */
  | 'effectAgainSucceeds'
  /** the body escapes '/' as '\/' but the signature covers the text with plain '/' */
  | 'unescapedSlash'
  /**
   * the app is on OpenID (Alipay's default for apps created since 2023): answers and notifications name users by
   * open id (principal_open_id, alipay_open_id) instead of user id, and a user named by alipay_user_id is unknown
   * (USER_NOT_EXIST_ERROR, as alipay.trade.* answer ACQ.BUYER_NOT_EXIST to buyer_id from such apps); without it, the
   * reverse: a user named by alipay_open_id is unknown
   */
  | 'openId'
  /** content encryption is required: a request without encrypt_type=AES is refused (needs the app's AES key) */
  | 'requireEncryption'
  /** every answer of a method is encrypted, also to a request sent in clear (needs the app's AES key) */
  | 'encryptAllAnswers';

export const BEHAVIOUR_NAMES: readonly BehaviourName[] = ['noBizSuccess', 'effectAgainSucceeds', 'unescapedSlash', 'openId', 'requireEncryption', 'encryptAllAnswers'];

export type Behaviours = Partial<Record<BehaviourName, boolean>>;

/** Names given on a command line (`--behave noBizSuccess --behave unescapedSlash`), checked. */
export function parseBehaviours(names: readonly string[] | undefined): Behaviours {
  const out: Behaviours = {};
  for (const raw of names ?? []) {
    for (const name of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (!(BEHAVIOUR_NAMES as readonly string[]).includes(name)) {
        throw new Error(`unknown behaviour "${name}" (known: ${BEHAVIOUR_NAMES.join(', ')})`);
      }
      out[name as BehaviourName] = true;
    }
  }
  return out;
}
