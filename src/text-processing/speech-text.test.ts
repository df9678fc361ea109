import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { detectSpeechLanguage, toSpeechText, type SpeechLanguage } from './speech-text.js';

type Row = readonly [display: string, speech: string];

function table(language: SpeechLanguage | undefined, rows: readonly Row[]): void {
  for (const [display, speech] of rows) {
    test(JSON.stringify(display), () => assert.equal(toSpeechText(display, language), speech));
  }
}

describe('Markdown is read as plain text', () => {
  table('en', [
    ['## Summary', 'Summary'],
    ['### Step 2: Install ###', 'Step 2: Install'],
    ['**Note.** Save your *work* first.', 'Note. Save your work first.'],
    ['__Bold__ and _italic_ and ~~struck~~ text.', 'Bold and italic and struck text.'],
    ['Run `npm install` now.', 'Run npm install now.'],
    ['See [the docs](https://nexy.ai/docs "Docs") for more.', 'See the docs for more.'],
    ['See [the docs][1] for more.', 'See the docs for more.'],
    ['![logo](img/logo.png) Nice logo!', 'Nice logo!'],
    ['- a microphone', 'a microphone'],
    ['* headphones', 'headphones'],
    ['- [x] done task', 'done task'],
    ['> quoted text', 'quoted text'],
    ['1. Open Settings.', '1. Open Settings.'],
    ['- first\n- second\n- third', 'first, second, third'],
    ['## Steps\nOpen Settings', 'Steps. Open Settings'],
    ['This line wraps\nin the middle.', 'This line wraps in the middle.'],
    ['| Name | Price |\n|------|------:|\n| Tea | $3 |', 'Name, Price, Tea, 3 dollars'],
    ['He said <b>hi</b>.', 'He said hi.'],
    ['Escaped \\*stars\\* stay words.', 'Escaped stars stay words.'],
    ['Use snake_case names like my_file.txt.', 'Use snake_case names like my_file.txt.'],
    ['---', ''],
    ['***', ''],
  ]);
});

describe('code blocks are dropped entirely', () => {
  table('en', [
    ['```bash\nnpm run build\n```', ''],
    ['Here is the code:\n```js\nconst a = 1;\n```\nRun it.', 'Here is the code: Run it.'],
    ['~~~\nraw\n~~~\nAfter.', 'After.'],
    ['Unclosed:\n```\nrm -rf build', 'Unclosed:'],
  ]);
});

describe('URLs, emoji and entities', () => {
  table('en', [
    ['Open https://example.com/a?b=1&c=2. Then reload.', 'Open link. Then reload.'],
    ['Visit www.nexy.ai.', 'Visit link.'],
    ['(see https://nexy.ai/docs)', '(see link)'],
    ['Go to <https://nexy.ai>.', 'Go to link.'],
    ['Mail me at john.doe@mail.com.', 'Mail me at john.doe@mail.com.'],
    ['Done! 🎉', 'Done!'],
    ['Great job 👍🏽 and thanks 🙏', 'Great job and thanks'],
    ['Flags 🇺🇸🇷🇺 and family 👨‍👩‍👧 gone.', 'Flags and family gone.'],
    ['1️⃣ First step', '1 First step'],
    ['(🙂)', ''],
    ['👍', ''],
    ['Hello&nbsp;world &amp; more &#128512;', 'Hello world and more'],
  ]);
  table('ru', [
    ['Подробнее: https://ya.ru/search?q=1', 'Подробнее: ссылка'],
    ['Откройте [документацию](https://nexy.ai).', 'Откройте документацию.'],
    ['Ответ — 42 😀', 'Ответ — 42'],
  ]);
});

describe('English symbols eSpeak reads badly', () => {
  table('en', [
    ['Tom & Jerry', 'Tom and Jerry'],
    ['It is 50% off.', 'It is 50% off.'],
    ['Today +18 °C, tonight −3°C.', 'Today +18 degrees Celsius, tonight -3 degrees Celsius.'],
    ['It is 1 °C outside.', 'It is 1 degree Celsius outside.'],
    ['Bake at 350 °F.', 'Bake at 350 degrees Fahrenheit.'],
    ['Turn 90°.', 'Turn 90 degrees.'],
    ['Wait 5-10 minutes.', 'Wait 5 to 10 minutes.'],
    ['The 2020–2022 period', 'The 2020 to 2022 period'],
    ['5 - 3 = 2', '5 - 3 = 2'],
    ['Call +7 999 123-45-67.', 'Call +7 999 123-45-67.'],
    ['On 2024-05-01 we met.', 'On 2024-05-01 we met.'],
    ['COVID-19 cases', 'COVID-19 cases'],
    ['~5 minutes', 'about 5 minutes'],
    ['≈ 5 km', 'about 5 km'],
    ['2 * 3 = 6', '2 times 3 = 6'],
    ['Item #5', 'Item number 5'],
    ['Check No. 5 please.', 'Check number 5 please.'],
    ['I love C# and #coding.', 'I love C sharp and coding.'],
    ['It costs $29.95.', 'It costs 29.95 dollars.'],
    ['It costs $1.', 'It costs 1 dollar.'],
    ['Raised $5M and $2 billion.', 'Raised 5 million dollars and 2 billion dollars.'],
    ['Tickets are €20 or 15 £.', 'Tickets are 20 euros or 15 pounds.'],
    ['i.e. the first one', 'that is the first one'],
    ['Python vs. JavaScript', 'Python versus JavaScript'],
    ['It takes approx. 5 minutes.', 'It takes approximately 5 minutes.'],
    ['A → B', 'A — B'],
    ['1\u00a0000\u00a0000 users', '1000000 users'],
  ]);
});

describe('Russian symbols and abbreviations', () => {
  table('ru', [
    ['Скидка 21%.', 'Скидка 21 процент.'],
    ['Скидка 50%.', 'Скидка 50 процентов.'],
    ['Рост на 3 %.', 'Рост на 3 процента.'],
    ['Скидка 2,5%.', 'Скидка 2,5 процента.'],
    ['Скидка 11%.', 'Скидка 11 процентов.'],
    ['Том & Джерри', 'Том и Джерри'],
    ['Т.е. это так.', 'То есть это так.'],
    ['Это так, т. е. верно.', 'Это так, то есть верно.'],
    ['Я не пойду, т.к. идёт дождь.', 'Я не пойду, так как идёт дождь.'],
    ['Купите хлеб и т.д.', 'Купите хлеб и так далее.'],
    ['Яблоки, груши и т. п.', 'Яблоки, груши и тому подобное.'],
    ['Пушкин, Лермонтов и др.', 'Пушкин, Лермонтов и другие.'],
    ['Есть языки, напр. Go.', 'Есть языки, например Go.'],
    ['Он родился в 1799 г.', 'Он родился в 1799 году.'],
    ['Это было 5 мая 1799 г. утром.', 'Это было 5 мая 1799 года утром.'],
    ['Это г. Москва.', 'Это г. Москва.'],
    ['Стоит 500 руб.', 'Стоит 500 рублей.'],
    ['Стоит 1 руб. 50 коп.', 'Стоит 1 рубль 50 копеек.'],
    ['Стоит 5 тыс. руб.', 'Стоит 5 тысяч рублей.'],
    ['Бюджет 1,5 млрд руб.', 'Бюджет 1,5 миллиарда рублей.'],
    ['Население 13 млн человек.', 'Население 13 миллионов человек.'],
    ['Нас 1 тыс. человек.', 'Нас 1 тысяча человек.'],
    ['Это стоит $30.', 'Это стоит 30 долларов.'],
    ['Это стоит $2.', 'Это стоит 2 доллара.'],
    ['Цена 100 ₽.', 'Цена 100 рублей.'],
    ['Цена 5 €.', 'Цена 5 евро.'],
    ['Тираж 1 000 000 экземпляров.', 'Тираж 1000000 экземпляров.'],
    ['В 2024 году 100 человек.', 'В 2024 году 100 человек.'],
    ['Телефон +7 999 123 45 67.', 'Телефон +7 999 123 45 67.'],
    ['Сейчас +18 °C.', 'Сейчас +18 градусов Цельсия.'],
    ['Сейчас 1 °C.', 'Сейчас 1 градус Цельсия.'],
    ['Ночью −3 °C.', 'Ночью -3 градуса Цельсия.'],
    ['Угол 90°.', 'Угол 90 градусов.'],
    ['Ждите ~5 минут', 'Ждите примерно 5 минут'],
    ['Ждите 5-10 минут.', 'Ждите 5-10 минут.'],
    ['См. #3', 'См. номер 3'],
    ['Учу C# и C++.', 'Учу C шарп и C++.'],
    ['2 * 3 = 6', '2 умножить на 3 = 6'],
    ['### Шаг 1\nОткройте настройки', 'Шаг 1. Откройте настройки'],
    ['- микрофон\n- наушники', 'микрофон, наушники'],
    ['**Важно:** сохраните файл.', 'Важно: сохраните файл.'],
  ]);
});

describe('language', () => {
  test('follows the script when not given: Cyrillic is Russian', () => {
    assert.equal(detectSpeechLanguage('Откройте Settings'), 'ru');
    assert.equal(detectSpeechLanguage('Open Settings'), 'en');
    assert.equal(toSpeechText('Откройте https://nexy.ai'), 'Откройте ссылка');
    assert.equal(toSpeechText('Open https://nexy.ai'), 'Open link');
  });

  test('a mostly English sentence with one Russian name is read with English rules (as its voice is chosen)', () => {
    assert.equal(detectSpeechLanguage('Ask Наташа to wait 5-10 minutes.'), 'en');
    assert.equal(toSpeechText('Ask Наташа to wait 5-10 minutes.'), 'Ask Наташа to wait 5 to 10 minutes.');
    assert.equal(toSpeechText('Send the invitation to Наташа: https://nexy.ai'), 'Send the invitation to Наташа: link');
  });

  test('a given language wins over the script', () => {
    assert.equal(toSpeechText('Москва & Piter', 'en'), 'Москва and Piter');
  });

  test('whitespace collapses to one line and empty input stays empty', () => {
    assert.equal(toSpeechText('  Hello,\t\tworld !  '), 'Hello, world!');
    assert.equal(toSpeechText(''), '');
    assert.equal(toSpeechText(' \n\n '), '');
  });
});
