// The secret detectors: fixed prefixes with length and character-set checks, one pass, no regex.
//
// `detectAt` is called only where a string byte can start a secret: the first byte of a word when
// some token starts with that letter, or '-' (a PEM header), '=' / ':' (an assignment). Every
// detector needs a prefix or an assignment name *and* a body of the right length and alphabet, so
// "sk-" in prose, a bare "AKIA" or an unnamed base64 blob pass.
import { BACKSLASH, QUOTE, byteAt } from "../../common/json";

// -- kinds ------------------------------------------------------------------------------------------
export const PRIVATE_KEY = 0;
export const AWS_ACCESS_KEY_ID = 1;
export const AWS_SECRET_ACCESS_KEY = 2;
export const GITHUB_TOKEN = 3;
export const GITLAB_TOKEN = 4;
export const SLACK_TOKEN = 5;
export const SLACK_WEBHOOK = 6;
export const STRIPE_KEY = 7;
export const OPENAI_KEY = 8;
export const ANTHROPIC_KEY = 9;
export const GOOGLE_API_KEY = 10;
export const NPM_TOKEN = 11;
export const DOCKER_PAT = 12;
export const HUGGINGFACE_TOKEN = 13;
export const PYPI_TOKEN = 14;
export const AGE_SECRET_KEY = 15;
export const SENDGRID_KEY = 16;
export const DIGITALOCEAN_TOKEN = 17;
export const KIND_COUNT = 18;

export const KIND_IDS: string[] = [
  "private_key", "aws_access_key_id", "aws_secret_access_key", "github_token", "gitlab_token",
  "slack_token", "slack_webhook", "stripe_key", "openai_key", "anthropic_key", "google_api_key",
  "npm_token", "docker_pat", "huggingface_token", "pypi_token", "age_secret_key", "sendgrid_key",
  "digitalocean_token",
];

export const KIND_LABELS: string[] = [
  "a private key block", "an AWS access key id", "an AWS secret access key", "a GitHub token",
  "a GitLab access token", "a Slack token", "a Slack webhook URL", "a Stripe live secret key",
  "an OpenAI API key", "an Anthropic API key", "a Google API key", "an npm access token",
  "a Docker Hub access token", "a Hugging Face token", "a PyPI API token", "an age secret key",
  "a SendGrid API key", "a DigitalOcean token",
];

// -- byte classes -------------------------------------------------------------------------------------
export const DIGIT: u8 = 1;
export const UPPER: u8 = 2;
export const LOWER: u8 = 4;
export const ALNUM: u8 = 7;
const PLUS_SLASH: u8 = 8;
const UNDERSCORE: u8 = 16;
const DASH: u8 = 32;
export const TRIGGER_AT_WORD: u8 = 64; // may start a token: only counts at a word boundary
export const TRIGGER_ANYWHERE: u8 = 128; // "-----BEGIN", and '=' / ':' of an assignment

const BASE64: u8 = ALNUM | PLUS_SLASH;
const URLSAFE: u8 = ALNUM | UNDERSCORE | DASH;
const WORD: u8 = ALNUM | UNDERSCORE;
const SLACK_BODY: u8 = ALNUM | DASH;

const TABLE: usize = heap.alloc(256);
// The same trigger letters as nibble tables for the SIMD scan: a byte is a trigger letter when
// TRIGGER_LOW[low nibble] & TRIGGER_HIGH[high nibble] != 0.
export const TRIGGER_LOW: usize = heap.alloc(16);
export const TRIGGER_HIGH: usize = heap.alloc(16);
const WORD_TRIGGERS = "AgxsrndhpS"; // first bytes of the token prefixes

export function initTable(): void {
  memory.fill(TABLE, 0, 256);
  for (let c = 0x30; c <= 0x39; c++) store<u8>(TABLE + <usize>c, DIGIT);
  for (let c = 0x41; c <= 0x5a; c++) store<u8>(TABLE + <usize>c, UPPER);
  for (let c = 0x61; c <= 0x7a; c++) store<u8>(TABLE + <usize>c, LOWER);
  store<u8>(TABLE + 0x2b, PLUS_SLASH);
  store<u8>(TABLE + 0x2f, PLUS_SLASH);
  store<u8>(TABLE + 0x5f, UNDERSCORE);
  store<u8>(TABLE + 0x2d, DASH | TRIGGER_ANYWHERE);
  store<u8>(TABLE + 0x3d, TRIGGER_ANYWHERE); // '='
  store<u8>(TABLE + 0x3a, TRIGGER_ANYWHERE); // ':'
  memory.fill(TRIGGER_LOW, 0, 16);
  memory.fill(TRIGGER_HIGH, 0, 16);
  for (let k = 0; k < WORD_TRIGGERS.length; k++) {
    const c = <usize>WORD_TRIGGERS.charCodeAt(k);
    store<u8>(TABLE + c, load<u8>(TABLE + c) | TRIGGER_AT_WORD);
    const bit = <u8>(1 << <u8>((c >> 4) - 4)); // the letters are 0x41..0x7a: high nibbles 4..7
    store<u8>(TRIGGER_LOW + (c & 15), load<u8>(TRIGGER_LOW + (c & 15)) | bit);
    store<u8>(TRIGGER_HIGH + (c >> 4), bit);
  }
}

@inline export function classOf(c: u8): u8 {
  return load<u8>(TABLE + <usize>c);
}

// -- helpers ------------------------------------------------------------------------------------------
// Whether the bytes at i are the ASCII text `lit` (never reads past n). Reads the literal's UTF-16
// code units directly: this runs at every candidate word and must not cost a bounds check per char.
@inline function at(p: usize, i: i32, n: i32, lit: string): bool {
  const len = lit.length;
  if (i + len > n) return false;
  const s = changetype<usize>(lit);
  const q = p + <usize>i;
  for (let k = 0; k < len; k++) {
    if (<u16>load<u8>(q + <usize>k) != load<u16>(s + (<usize>k << 1))) return false;
  }
  return true;
}

// How many bytes from i belong to `mask` (a string's closing quote and escapes belong to none).
function run(p: usize, i: i32, n: i32, mask: u8): i32 {
  let j = i;
  while (j < n && (classOf(byteAt(p, j)) & mask) != 0) j++;
  return j - i;
}

// The classes (DIGIT | UPPER | LOWER) present in [i, i+len).
function mix(p: usize, i: i32, len: i32): u8 {
  let seen: u8 = 0;
  for (let k = 0; k < len; k++) seen |= classOf(byteAt(p, i + k));
  return seen & ALNUM;
}

function endsWord(p: usize, j: i32, n: i32): bool {
  return j >= n || (classOf(byteAt(p, j)) & ALNUM) == 0;
}

function isHex(p: usize, i: i32, len: i32): bool {
  for (let k = 0; k < len; k++) {
    const c = byteAt(p, i + k);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

// Base64 characters among the next `window` bytes of the string (escapes such as \n skipped).
function base64Count(p: usize, i: i32, n: i32, window: i32): i32 {
  const stop = i + window < n ? i + window : n;
  let count = 0;
  while (i < stop) {
    const c = byteAt(p, i);
    if (c == QUOTE) break;
    if (c == BACKSLASH) { i += 2; continue; }
    if ((classOf(c) & BASE64) != 0) count++;
    i++;
  }
  return count;
}

// -- detectors ------------------------------------------------------------------------------------------
// "-----BEGIN <label> PRIVATE KEY-----" (RSA, EC, DSA, OPENSSH, ENCRYPTED, PGP ... BLOCK) followed by
// key material: a header alone (documentation, a parser's test) is not a key.
function privateKey(p: usize, i: i32, n: i32): bool {
  if (!at(p, i, n, "-----BEGIN ")) return false;
  let j = i + 11;
  const labelEnd = j + 48 < n ? j + 48 : n;
  while (j < labelEnd) {
    const c = byteAt(p, j);
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x20)) break;
    j++;
  }
  if (!at(p, j, n, "-----")) return false;
  const isKey = (j - 11 >= i + 11 && at(p, j - 11, n, "PRIVATE KEY")) ||
    (j - 17 >= i + 11 && at(p, j - 17, n, "PRIVATE KEY BLOCK"));
  return isKey && base64Count(p, j + 5, n, 160) >= 64;
}

// AKIA / ASIA / ABIA / ACCA + 16 upper-case letters or digits; AWS's documented *EXAMPLE ids pass.
function awsAccessKeyId(p: usize, i: i32, n: i32): bool {
  if (!(at(p, i, n, "AKIA") || at(p, i, n, "ASIA") || at(p, i, n, "ABIA") || at(p, i, n, "ACCA"))) return false;
  if (run(p, i, n, ALNUM) != 20 || run(p, i + 4, n, DIGIT | UPPER) != 16) return false;
  return !at(p, i + 13, n, "EXAMPLE");
}

function googleApiKey(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "AIza") && run(p, i + 4, n, URLSAFE) == 35;
}

function ageSecretKey(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "AGE-SECRET-KEY-1") && run(p, i + 16, n, DIGIT | UPPER) == 58 && endsWord(p, i + 74, n);
}

function githubToken(p: usize, i: i32, n: i32): bool {
  if (i + 4 <= n && byteAt(p, i + 1) == 0x68 && byteAt(p, i + 3) == 0x5f) { // gh?_
    const t = byteAt(p, i + 2);
    if (t == 0x70 || t == 0x6f || t == 0x75 || t == 0x73 || t == 0x72) return run(p, i + 4, n, ALNUM) >= 36;
    return false;
  }
  return at(p, i, n, "github_pat_") && run(p, i + 11, n, WORD) >= 50;
}

function gitlabToken(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "glpat-") && run(p, i + 6, n, URLSAFE) >= 20;
}

// xoxb- / xoxp- / xoxa- / xoxo- / xoxs- / xoxr- + at least 20 characters, 8 of them digits.
function slackToken(p: usize, i: i32, n: i32): bool {
  if (!at(p, i, n, "xox") || i + 5 > n || byteAt(p, i + 4) != 0x2d) return false;
  const t = byteAt(p, i + 3);
  if (!(t == 0x61 || t == 0x62 || t == 0x70 || t == 0x6f || t == 0x73 || t == 0x72)) return false;
  const len = run(p, i + 5, n, SLACK_BODY);
  if (len < 20) return false;
  let digits = 0;
  for (let k = 0; k < len; k++) if ((classOf(byteAt(p, i + 5 + k)) & DIGIT) != 0) digits++;
  return digits >= 8;
}

function slackWebhook(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "hooks.slack.com/services/") && run(p, i + 25, n, WORD | PLUS_SLASH) >= 40;
}

function stripeKey(p: usize, i: i32, n: i32): bool {
  if (!(at(p, i + 1, n, "k_live_") || at(p, i + 1, n, "k_prod_"))) return false;
  return run(p, i + 8, n, ALNUM) >= 20;
}

// sk-ant-... is Anthropic's; any other sk- with a long mixed-case body with digits is OpenAI's
// (sk-proj-, sk-svcacct-, sk-admin- and the older sk-<48>).
function skDashKind(p: usize, i: i32, n: i32): i32 {
  if (!at(p, i, n, "sk-")) return -1;
  const ant = at(p, i + 3, n, "ant-");
  const body = i + (ant ? 7 : 3);
  const len = run(p, body, n, URLSAFE);
  if (len < 32 || mix(p, body, len) != ALNUM) return -1;
  return ant ? ANTHROPIC_KEY : OPENAI_KEY;
}

function npmToken(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "npm_") && run(p, i + 4, n, ALNUM) == 36 && endsWord(p, i + 40, n) &&
    (i + 40 >= n || byteAt(p, i + 40) != 0x5f);
}

function dockerPat(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "dckr_pat_") && run(p, i + 9, n, URLSAFE) >= 27;
}

function digitalOceanToken(p: usize, i: i32, n: i32): bool {
  if (!(at(p, i, n, "dop_v1_") || at(p, i, n, "doo_v1_") || at(p, i, n, "dor_v1_"))) return false;
  return run(p, i + 7, n, ALNUM) == 64 && isHex(p, i + 7, 64);
}

function huggingFaceToken(p: usize, i: i32, n: i32): bool {
  if (!at(p, i, n, "hf_") || run(p, i + 3, n, ALNUM) != 34) return false;
  return (mix(p, i + 3, 34) & (UPPER | LOWER)) == (UPPER | LOWER);
}

function pypiToken(p: usize, i: i32, n: i32): bool {
  return at(p, i, n, "pypi-AgEIcHlwaS5vcmc") && run(p, i + 20, n, URLSAFE) >= 50;
}

function sendgridKey(p: usize, i: i32, n: i32): bool {
  if (!at(p, i, n, "SG.") || run(p, i + 3, n, URLSAFE) != 22 || i + 26 > n || byteAt(p, i + 25) != 0x2e) return false;
  return run(p, i + 26, n, URLSAFE) == 43;
}

// -- AWS secret access keys: found by their name, since the value is an unmarked 40-char blob ------
const NAME_MAX = 48;
const NAME_BUF: usize = heap.alloc(NAME_MAX);

// Whether bytes [start, end) name an AWS secret key: aws_secret_access_key, AWS-SECRET-ACCESS-KEY,
// SecretAccessKey (STS / credential files), aws_secret_key, in any case and separator.
export function isAwsSecretName(p: usize, start: i32, end: i32): bool {
  let len = 0;
  for (let k = start; k < end; k++) {
    const c = byteAt(p, k);
    if (c == 0x5f || c == 0x2d || c == 0x2e || c == 0x20) continue;
    if (len >= NAME_MAX) return false;
    store<u8>(NAME_BUF + <usize>len, c >= 0x41 && c <= 0x5a ? c + 32 : c);
    len++;
  }
  const suffix = "secretaccesskey";
  if (len >= suffix.length && at(NAME_BUF, len - suffix.length, len, suffix)) return true;
  return len == 12 && at(NAME_BUF, 0, len, "awssecretkey");
}

// A secret access key value: exactly 40 base64 characters with both letter cases.
export function isAwsSecretValue(p: usize, i: i32, n: i32): bool {
  const len = run(p, i, n, BASE64);
  if (len != 40) return false;
  const next = i + 40 < n ? byteAt(p, i + 40) : <u8>0;
  if (next == 0x3d) return false;
  return (mix(p, i, 40) & (UPPER | LOWER)) == (UPPER | LOWER);
}

function isQuoteOrSpace(c: u8): bool {
  return c == 0x20 || c == 0x22 || c == 0x27 || c == BACKSLASH;
}

// At '=' or ':' inside a string: `AWS_SECRET_ACCESS_KEY=...`, `"SecretAccessKey": "..."` (JSON in a string).
function awsSecretAssignment(p: usize, i: i32, n: i32, lower: i32): bool {
  // the value first: "https://", "a=b" and base64 padding fail here without looking back
  let f = i + 1;
  let skipped = 0;
  while (f < n && skipped < 6 && isQuoteOrSpace(byteAt(p, f))) { f++; skipped++; }
  if (!isAwsSecretValue(p, f, n)) return false;
  let b = i - 1;
  skipped = 0;
  while (b >= lower && skipped < 4 && isQuoteOrSpace(byteAt(p, b))) { b--; skipped++; }
  const nameEnd = b + 1;
  while (b >= lower && nameEnd - b <= NAME_MAX + 8 &&
         ((classOf(byteAt(p, b)) & (WORD | DASH)) != 0 || byteAt(p, b) == 0x2e)) b--;
  return nameEnd - (b + 1) >= 12 && isAwsSecretName(p, b + 1, nameEnd);
}

// The kind of secret starting at byte i of a string (its first byte is c), or -1. `lower` is the
// string's first byte (assignments look back to it, never further). The second byte is checked
// first, so an ordinary word that merely starts with a trigger letter costs one more load.
export function detectAt(p: usize, i: i32, n: i32, c: u8, lower: i32): i32 {
  const c2 = i + 1 < n ? byteAt(p, i + 1) : <u8>0;
  const c3 = i + 2 < n ? byteAt(p, i + 2) : <u8>0;
  switch (c) {
    case 0x2d: return c2 == 0x2d && privateKey(p, i, n) ? PRIVATE_KEY : -1; // '-'
    case 0x3d: case 0x3a: return awsSecretAssignment(p, i, n, lower) ? AWS_SECRET_ACCESS_KEY : -1;
    case 0x41: { // 'A'
      if (c2 == 0x4b || c2 == 0x53 || c2 == 0x42 || c2 == 0x43) return awsAccessKeyId(p, i, n) ? AWS_ACCESS_KEY_ID : -1;
      if (c2 == 0x49) return googleApiKey(p, i, n) ? GOOGLE_API_KEY : -1;
      return c2 == 0x47 && ageSecretKey(p, i, n) ? AGE_SECRET_KEY : -1;
    }
    case 0x67: { // 'g'
      if ((c2 == 0x68 && i + 3 < n && byteAt(p, i + 3) == 0x5f) || (c2 == 0x69 && c3 == 0x74)) {
        return githubToken(p, i, n) ? GITHUB_TOKEN : -1;
      }
      return c2 == 0x6c && c3 == 0x70 && gitlabToken(p, i, n) ? GITLAB_TOKEN : -1;
    }
    case 0x78: return c2 == 0x6f && c3 == 0x78 && slackToken(p, i, n) ? SLACK_TOKEN : -1; // 'x'
    case 0x73: { // 's'
      if (c2 != 0x6b) return -1;
      if (c3 == 0x5f) return stripeKey(p, i, n) ? STRIPE_KEY : -1;
      return c3 == 0x2d ? skDashKind(p, i, n) : -1;
    }
    case 0x72: return c2 == 0x6b && c3 == 0x5f && stripeKey(p, i, n) ? STRIPE_KEY : -1; // 'r'
    case 0x6e: return c2 == 0x70 && c3 == 0x6d && npmToken(p, i, n) ? NPM_TOKEN : -1; // 'n'
    case 0x64: { // 'd'
      if (c2 == 0x63) return c3 == 0x6b && dockerPat(p, i, n) ? DOCKER_PAT : -1;
      return c2 == 0x6f && i + 3 < n && byteAt(p, i + 3) == 0x5f && digitalOceanToken(p, i, n) ? DIGITALOCEAN_TOKEN : -1;
    }
    case 0x68: { // 'h'
      if (c2 == 0x66) return c3 == 0x5f && huggingFaceToken(p, i, n) ? HUGGINGFACE_TOKEN : -1;
      return c2 == 0x6f && c3 == 0x6f && slackWebhook(p, i, n) ? SLACK_WEBHOOK : -1;
    }
    case 0x70: return c2 == 0x79 && c3 == 0x70 && pypiToken(p, i, n) ? PYPI_TOKEN : -1; // 'p'
    case 0x53: return c2 == 0x47 && c3 == 0x2e && sendgridKey(p, i, n) ? SENDGRID_KEY : -1; // 'S'
    default: return -1;
  }
}
