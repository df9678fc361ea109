import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { luhnValid, maskSecrets, SECRET_MASKS } from './mask-secrets.js';

const KEY = SECRET_MASKS.apiKey;
const CARD = SECRET_MASKS.card;
const PASS = SECRET_MASKS.password;

describe('maskSecrets', () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    // [name, input, expected]
    ['plain text is untouched', 'What is the weather in Moscow today?', 'What is the weather in Moscow today?'],
    ['openai key', 'my key is sk-proj-AbC123def456GHI789jkl0', `my key is ${KEY}`],
    ['anthropic key', 'use sk-ant-api03-abcdefghijklmnop1234 please', `use ${KEY} please`],
    ['github token', 'token ghp_abcdefghijklmnopqrstuvwxyz0123456789', `token ${KEY}`],
    ['aws key id', 'AKIAIOSFODNN7EXAMPLE is the id', `${KEY} is the id`],
    ['jwt', 'bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-DEF_123', `bearer ${KEY}`],
    ['long hex token', 'secret 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 end', `secret ${KEY} end`],
    ['base64 token', 'token dGhpcyBpcyBhIHNlY3JldCB0b2tlbiB2YWx1ZQ== ok', `token ${KEY} ok`],
    ['short sk- word is kept', 'the sk-8 skates', 'the sk-8 skates'],
    ['long plain word is kept', 'pneumonoultramicroscopicsilicovolcanoconiosis is long', 'pneumonoultramicroscopicsilicovolcanoconiosis is long'],
    ['lowercase url path is kept', 'see /owner/repository/blob/main/file123/readme', 'see /owner/repository/blob/main/file123/readme'],
    ['uuid is kept', 'id 6F9619FF-8B86-D011-B42D-00C04FC964FF', 'id 6F9619FF-8B86-D011-B42D-00C04FC964FF'],
    ['card with spaces', 'my card is 4111 1111 1111 1111, thanks', `my card is ${CARD}, thanks`],
    ['card with dashes', 'card 5555-5555-5555-4444', `card ${CARD}`],
    ['card without separators', 'pay with 378282246310005', `pay with ${CARD}`],
    ['card followed by a year', 'card 4111 1111 1111 1111 2031', `card ${CARD} 2031`],
    ['luhn-invalid digits are kept', 'order 1234 5678 9012 3456', 'order 1234 5678 9012 3456'],
    ['phone number is kept', 'call +7 916 123-45-67', 'call +7 916 123-45-67'],
    ['EN password', 'my password is hunter2', `my password is ${PASS}`],
    ['EN password, sentence goes on', 'My password is hunter2. What is the time?', `My password is ${PASS}. What is the time?`],
    ['EN passphrase of several words', 'the password is correct horse battery staple', `the password is ${PASS}`],
    ['EN password with colon and inner dot', 'wifi password: Abc.123', `wifi password: ${PASS}`],
    ['EN password for a service', 'the password for my email is qwerty', `the password for my email is ${PASS}`],
    ['EN pin', 'my PIN is 4321', `my PIN is ${PASS}`],
    ['EN no password given', 'I forgot my password', 'I forgot my password'],
    ['RU мой пароль', 'мой пароль qwerty123', `мой пароль ${PASS}`],
    ['RU мой пароль от', 'Мой пароль от почты: тайна42', `Мой пароль от почты: ${PASS}`],
    ['RU пароль dash', 'пароль — синий кит. Спасибо!', `пароль — ${PASS}. Спасибо!`],
    ['RU пароль это', 'пароль это 12345', `пароль это ${PASS}`],
    ['RU no password given', 'я забыл пароль', 'я забыл пароль'],
    ['RU card', 'номер карты 4111-1111-1111-1111', `номер карты ${CARD}`],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(maskSecrets(input), expected));
  }

  it('is idempotent', () => {
    for (const [, input] of cases) assert.equal(maskSecrets(maskSecrets(input)), maskSecrets(input));
  });
});

describe('luhnValid', () => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['4111111111111111', true],
    ['4111111111111112', false],
    ['79927398713', true],
    ['', false],
    ['12a4', false],
  ];
  for (const [digits, expected] of cases) it(`${digits || '(empty)'} → ${expected}`, () => assert.equal(luhnValid(digits), expected));
});
