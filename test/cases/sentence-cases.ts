/**
 * The sentence splitter's accuracy table: LLM-reply-like text in English and Russian (plus a few
 * mixed and CJK lines) with the sentences a listener should hear, and the figure the benchmark
 * prints. Cases whose right answer needs meaning rather than form ("основан в 1147 г. Юрием
 * Долгоруким", "Пётр I. Он…", "долл. США") are left out rather than given a doubtful answer.
 */
import { SentenceSplitter, type SentenceSplitterOptions } from '../../src/pipeline/sentence-splitter.js';

export type CaseLanguage = 'en' | 'ru' | 'mixed' | 'cjk';

/** One reply and the segments the splitter must produce for it. */
export interface SentenceCase {
  readonly lang: CaseLanguage;
  readonly text: string;
  readonly expected: readonly string[];
}

/** The accuracy over a set of cases; `failed` holds the texts of the cases that did not match. */
export interface SplitterAccuracy {
  readonly total: number;
  readonly correct: number;
  /** `correct / total`, 0 for an empty set. */
  readonly accuracy: number;
  readonly failed: readonly string[];
}

/**
 * The cases measure sentence boundaries alone, so the early first fragment and the length cut
 * are off; these are measurement settings, not the service's (those come from config).
 */
export const MEASUREMENT_OPTIONS: SentenceSplitterOptions = Object.freeze({
  firstFragmentMinChars: Number.POSITIVE_INFINITY,
  maxSentenceChars: Number.POSITIVE_INFINITY,
});

const en = (text: string, ...expected: string[]): SentenceCase => ({ lang: 'en', text, expected });
const ru = (text: string, ...expected: string[]): SentenceCase => ({ lang: 'ru', text, expected });
const mixed = (text: string, ...expected: string[]): SentenceCase => ({ lang: 'mixed', text, expected });
const cjk = (text: string, ...expected: string[]): SentenceCase => ({ lang: 'cjk', text, expected });

/** The table: text as an LLM would stream it → the sentences in order. */
export const SENTENCE_CASES: readonly SentenceCase[] = Object.freeze([
  // ---- English ---------------------------------------------------------------------------
  en('Dr. Smith paid $29.95 at 10.30 for v2.0.1.', 'Dr. Smith paid $29.95 at 10.30 for v2.0.1.'),
  en('Hello! How can I help you today?', 'Hello!', 'How can I help you today?'),
  en('Sure. The meeting is at 3 p.m. tomorrow.', 'Sure.', 'The meeting is at 3 p.m. tomorrow.'),
  en('The meeting starts at 10 a.m. Please be on time.', 'The meeting starts at 10 a.m.', 'Please be on time.'),
  en('Mr. and Mrs. Brown live on Oak St. near the park.', 'Mr. and Mrs. Brown live on Oak St. near the park.'),
  en(
    'You can use a tool, e.g. a linter, to catch this. It saves time.',
    'You can use a tool, e.g. a linter, to catch this.',
    'It saves time.',
  ),
  en(
    'Use the short form, i.e. the one without the prefix. Then save.',
    'Use the short form, i.e. the one without the prefix.',
    'Then save.',
  ),
  en('Apples, pears, bananas, etc. are all fruit.', 'Apples, pears, bananas, etc. are all fruit.'),
  en('I bought apples, pears, etc. Then I went home.', 'I bought apples, pears, etc.', 'Then I went home.'),
  en('Visit example.com or read readme.md for details.', 'Visit example.com or read readme.md for details.'),
  en('See example.com or readme.md.', 'See example.com or readme.md.'),
  en('Open the file config.yaml. Then restart the server.', 'Open the file config.yaml.', 'Then restart the server.'),
  en('Send it to john.doe@example.com. I will reply soon.', 'Send it to john.doe@example.com.', 'I will reply soon.'),
  en(
    'The guide is at https://nexy.ai/docs/v1.2/setup.html if you need it.',
    'The guide is at https://nexy.ai/docs/v1.2/setup.html if you need it.',
  ),
  en('Pi is about 3.14159. It never ends.', 'Pi is about 3.14159.', 'It never ends.'),
  en('Version 2.0.1 fixed the bug. Update now.', 'Version 2.0.1 fixed the bug.', 'Update now.'),
  en('He said "Go." Then he left.', 'He said "Go."', 'Then he left.'),
  en('(Yes.) That is what I meant.', '(Yes.)', 'That is what I meant.'),
  en('Wait... Is that right?', 'Wait...', 'Is that right?'),
  en('Hmm... let me think about that.', 'Hmm... let me think about that.'),
  en('Hmm… let me check.', 'Hmm… let me check.'),
  en('Really?! That is amazing!! Tell me more.', 'Really?!', 'That is amazing!!', 'Tell me more.'),
  en("It costs $1,299.99. That's a lot.", 'It costs $1,299.99.', "That's a lot."),
  en(
    'J. R. R. Tolkien wrote The Hobbit. It came out in 1937.',
    'J. R. R. Tolkien wrote The Hobbit.',
    'It came out in 1937.',
  ),
  en('George W. Bush was president. Then came Obama.', 'George W. Bush was president.', 'Then came Obama.'),
  en(
    'Prof. Adams and Dr. Lee wrote the paper. It is on p. 42 of the journal.',
    'Prof. Adams and Dr. Lee wrote the paper.',
    'It is on p. 42 of the journal.',
  ),
  en('See Fig. 3 for the chart. It shows growth.', 'See Fig. 3 for the chart.', 'It shows growth.'),
  en('The U.S. economy grew by 2.5% last year.', 'The U.S. economy grew by 2.5% last year.'),
  en('It started in the U.S. The rest of the world followed.', 'It started in the U.S.', 'The rest of the world followed.'),
  en('The ratio is 3:2. Keep it that way.', 'The ratio is 3:2.', 'Keep it that way.'),
  en('It is 10:45 p.m. now.', 'It is 10:45 p.m. now.'),
  en(
    'Here are the steps:\n1. Open Settings.\n2. Click Privacy.\n3. Turn on the microphone.',
    'Here are the steps:',
    '1. Open Settings.',
    '2. Click Privacy.',
    '3. Turn on the microphone.',
  ),
  en('Steps: 1. Open the app. 2. Tap Start. 3. Speak.', 'Steps: 1. Open the app.', '2. Tap Start.', '3. Speak.'),
  en(
    'You will need:\n- a microphone\n- headphones\n- a quiet room',
    'You will need:',
    '- a microphone',
    '- headphones',
    '- a quiet room',
  ),
  en('First paragraph ends here\n\nSecond paragraph starts here.', 'First paragraph ends here', 'Second paragraph starts here.'),
  en('## Summary\nThe build passed. All tests are green.', '## Summary', 'The build passed.', 'All tests are green.'),
  en('This line wraps\nin the middle of a sentence.', 'This line wraps\nin the middle of a sentence.'),
  en('**Note.** Save your work first.', '**Note.**', 'Save your work first.'),
  en('The answer is 42. Anything else?', 'The answer is 42.', 'Anything else?'),
  en('Temperatures reach 35 °C in July. Bring water.', 'Temperatures reach 35 °C in July.', 'Bring water.'),
  en('She earned a Ph.D. in physics.', 'She earned a Ph.D. in physics.'),
  en('Call me at 5 p.m. or later.', 'Call me at 5 p.m. or later.'),
  en(
    'Apple Inc. released a new phone. It costs more.',
    'Apple Inc. released a new phone.',
    'It costs more.',
  ),
  en("I work at Acme Inc. It's a small company.", 'I work at Acme Inc.', "It's a small company."),
  en('Run `npm install`. Then run `npm start`.', 'Run `npm install`.', 'Then run `npm start`.'),
  en(
    "The file is named report.final.v2.pdf and it's in Downloads.",
    "The file is named report.final.v2.pdf and it's in Downloads.",
  ),
  en('Yes. No. Maybe.', 'Yes.', 'No.', 'Maybe.'),
  en('Check item No. 5 in the list.', 'Check item No. 5 in the list.'),
  en("Mt. Everest is 8,849 m tall. That's the highest peak.", 'Mt. Everest is 8,849 m tall.', "That's the highest peak."),
  en('St. Petersburg is beautiful in June. Visit if you can.', 'St. Petersburg is beautiful in June.', 'Visit if you can.'),
  en('He asked, "Why not?" and left.', 'He asked, "Why not?" and left.'),
  en('"Why not?" he asked. "Because," she said.', '"Why not?" he asked.', '"Because," she said.'),
  en("It's 9 a.m. in London and 4 a.m. in New York.", "It's 9 a.m. in London and 4 a.m. in New York."),
  en('Done! 🎉 Let me know if you need anything else.', 'Done! 🎉', 'Let me know if you need anything else.'),
  en("It's Python vs. JavaScript again.", "It's Python vs. JavaScript again."),
  en('The price dropped from $10 to $7.50. Buy now.', 'The price dropped from $10 to $7.50.', 'Buy now.'),
  en('Cf. the previous section. It explains the setup.', 'Cf. the previous section.', 'It explains the setup.'),
  en('Approx. 200 people came. The hall was full.', 'Approx. 200 people came.', 'The hall was full.'),
  en(
    'The Hobbit was published on Sept. 21, 1937. It was a hit.',
    'The Hobbit was published on Sept. 21, 1937.',
    'It was a hit.',
  ),
  en('Your IP is 192.168.1.10. It looks fine.', 'Your IP is 192.168.1.10.', 'It looks fine.'),
  en('Set the value to 0.5. Then save.', 'Set the value to 0.5.', 'Then save.'),
  en("OK. I'll do that.", 'OK.', "I'll do that."),
  en('Today is Monday.\nTomorrow is Tuesday.', 'Today is Monday.', 'Tomorrow is Tuesday.'),
  en("What time is it? It's 7:30.", 'What time is it?', "It's 7:30."),
  en(
    "Here's the command:\n```bash\nnpm run build\n```\nRun it in the project folder.",
    "Here's the command:",
    '```bash\nnpm run build\n```',
    'Run it in the project folder.',
  ),
  en('The ticket costs €20. Kids go free.', 'The ticket costs €20.', 'Kids go free.'),
  en('Email support@nexy.ai. They answer within 24 hours.', 'Email support@nexy.ai.', 'They answer within 24 hours.'),
  en('A. Lincoln was the 16th president.', 'A. Lincoln was the 16th president.'),
  en('I like plan B. It is simpler.', 'I like plan B.', 'It is simpler.'),
  en('The chapter ends on p. 12. The next one is shorter.', 'The chapter ends on p. 12.', 'The next one is shorter.'),
  en('Use Ctrl+C to copy. Use Ctrl+V to paste.', 'Use Ctrl+C to copy.', 'Use Ctrl+V to paste.'),
  en("My favourite is No. 7. What's yours?", 'My favourite is No. 7.', "What's yours?"),
  en('Wow!!! That is great.', 'Wow!!!', 'That is great.'),
  en("Is it 5.5 or 6? I'm not sure.", 'Is it 5.5 or 6?', "I'm not sure."),
  en('They met at 8 p.m. The dinner was great.', 'They met at 8 p.m.', 'The dinner was great.'),
  en('Read the docs at docs.python.org. They are very good.', 'Read the docs at docs.python.org.', 'They are very good.'),
  en('Nice work — the tests pass now. Ship it!', 'Nice work — the tests pass now.', 'Ship it!'),
  en('The colours are red, green, blue, etc.\nPick one.', 'The colours are red, green, blue, etc.', 'Pick one.'),
  en('Solve for x. Then check the result.', 'Solve for x.', 'Then check the result.'),
  en('Use Node.js. It is fast.', 'Use Node.js.', 'It is fast.'),
  en('Rename the .txt file to .md. Then reload.', 'Rename the .txt file to .md.', 'Then reload.'),
  en(
    'The weather in London is mild today, with a high of 18 degrees. Take a light jacket, just in case.',
    'The weather in London is mild today, with a high of 18 degrees.',
    'Take a light jacket, just in case.',
  ),
  en(
    'I can see a spreadsheet on your screen. The total in cell B12 is 4,250.75. Do you want me to explain the formula?',
    'I can see a spreadsheet on your screen.',
    'The total in cell B12 is 4,250.75.',
    'Do you want me to explain the formula?',
  ),

  // ---- Russian ---------------------------------------------------------------------------
  ru('Т.е. это г. Москва, ул. Ленина, д. 5.', 'Т.е. это г. Москва, ул. Ленина, д. 5.'),
  ru('А. С. Пушкин родился в 1799 г. в Москве.', 'А. С. Пушкин родился в 1799 г. в Москве.'),
  ru('Привет! Чем могу помочь?', 'Привет!', 'Чем могу помочь?'),
  ru('Он родился в 1799 г. Потом семья переехала.', 'Он родился в 1799 г.', 'Потом семья переехала.'),
  ru('Встреча назначена на 10:30. Не опаздывайте.', 'Встреча назначена на 10:30.', 'Не опаздывайте.'),
  ru('Цена — 29,95 руб. за штуку.', 'Цена — 29,95 руб. за штуку.'),
  ru('Это стоит 500 руб. Недорого.', 'Это стоит 500 руб.', 'Недорого.'),
  ru('Купите хлеб, молоко и т.д. Список длинный.', 'Купите хлеб, молоко и т.д.', 'Список длинный.'),
  ru('Купите хлеб, молоко и т.д. и т.п.', 'Купите хлеб, молоко и т.д. и т.п.'),
  ru('Возьмите яблоки, груши и т. д. Потом приходите.', 'Возьмите яблоки, груши и т. д.', 'Потом приходите.'),
  ru('Есть разные языки, напр. Python и Go.', 'Есть разные языки, напр. Python и Go.'),
  ru('Используйте редактор, т. е. программу для текста.', 'Используйте редактор, т. е. программу для текста.'),
  ru('Я не пойду, т.к. идёт дождь.', 'Я не пойду, т.к. идёт дождь.'),
  ru('Это было в XIX в. Тогда всё было иначе.', 'Это было в XIX в.', 'Тогда всё было иначе.'),
  ru('Это было в XIX в. до революции.', 'Это было в XIX в. до революции.'),
  ru('Позвоните проф. Иванову завтра.', 'Позвоните проф. Иванову завтра.'),
  ru('См. рис. 3 на стр. 15.', 'См. рис. 3 на стр. 15.'),
  ru('Население — 12,6 млн человек. Это много.', 'Население — 12,6 млн человек.', 'Это много.'),
  ru(
    'Население около 5 тыс. чел. в 2020 г. Сейчас больше.',
    'Население около 5 тыс. чел. в 2020 г.',
    'Сейчас больше.',
  ),
  ru('Файл называется отчёт.docx. Откройте его.', 'Файл называется отчёт.docx.', 'Откройте его.'),
  ru('Сайт example.ru работает. Зайдите на него.', 'Сайт example.ru работает.', 'Зайдите на него.'),
  ru('Напишите на info@nexy.ru. Мы ответим.', 'Напишите на info@nexy.ru.', 'Мы ответим.'),
  ru('Версия 2.0.1 вышла вчера. Обновитесь.', 'Версия 2.0.1 вышла вчера.', 'Обновитесь.'),
  ru('Он сказал: «Иди.» Потом ушёл.', 'Он сказал: «Иди.»', 'Потом ушёл.'),
  ru('(Да.) Это я и имел в виду.', '(Да.)', 'Это я и имел в виду.'),
  ru('«Да.» Он кивнул.', '«Да.»', 'Он кивнул.'),
  ru('Ну... не знаю.', 'Ну... не знаю.'),
  ru('Я ждал… Никто не пришёл.', 'Я ждал…', 'Никто не пришёл.'),
  ru('Правда?! Не может быть!! Расскажи ещё.', 'Правда?!', 'Не может быть!!', 'Расскажи ещё.'),
  ru(
    'Шаги:\n1. Откройте настройки.\n2. Нажмите «Конфиденциальность».\n3. Включите микрофон.',
    'Шаги:',
    '1. Откройте настройки.',
    '2. Нажмите «Конфиденциальность».',
    '3. Включите микрофон.',
  ),
  ru('Вам понадобится:\n- микрофон\n- наушники', 'Вам понадобится:', '- микрофон', '- наушники'),
  ru('## Итоги\nСборка прошла. Все тесты зелёные.', '## Итоги', 'Сборка прошла.', 'Все тесты зелёные.'),
  ru('Первый абзац\n\nВторой абзац.', 'Первый абзац', 'Второй абзац.'),
  ru('Температура 25 °C. Возьмите воду.', 'Температура 25 °C.', 'Возьмите воду.'),
  ru('Курс — 92,5 руб. за доллар.', 'Курс — 92,5 руб. за доллар.'),
  ru(
    'Л. Н. Толстой написал «Войну и мир». Роман огромный.',
    'Л. Н. Толстой написал «Войну и мир».',
    'Роман огромный.',
  ),
  ru('Ул. Тверская, д. 7, кв. 12. Код домофона — 12.', 'Ул. Тверская, д. 7, кв. 12.', 'Код домофона — 12.'),
  ru('Проект запустили в 2010-х гг. Сейчас он растёт.', 'Проект запустили в 2010-х гг.', 'Сейчас он растёт.'),
  ru('Это было в 1990-х гг. в России.', 'Это было в 1990-х гг. в России.'),
  ru('Скидка 20%. Успейте купить.', 'Скидка 20%.', 'Успейте купить.'),
  ru('Сейчас 3 ч. ночи.', 'Сейчас 3 ч. ночи.'),
  ru('Ширина 5 см. Высота 10 см.', 'Ширина 5 см.', 'Высота 10 см.'),
  ru('Подробнее см. Приложение 2.', 'Подробнее см. Приложение 2.'),
  ru('Кстати, т.н. «умный дом» уже здесь.', 'Кстати, т.н. «умный дом» уже здесь.'),
  ru('Я живу в г. Казани.', 'Я живу в г. Казани.'),
  ru('Это г. Санкт-Петербург. Здесь красиво.', 'Это г. Санкт-Петербург.', 'Здесь красиво.'),
  ru('В т.ч. налоги. Всего 100 руб.', 'В т.ч. налоги.', 'Всего 100 руб.'),
  ru('Нажмите Enter. Готово!', 'Нажмите Enter.', 'Готово!'),
  ru('Откройте «Настройки» → «Звук». Там выберите микрофон.', 'Откройте «Настройки» → «Звук».', 'Там выберите микрофон.'),
  ru('И. о. директора подписал приказ.', 'И. о. директора подписал приказ.'),
  ru('Это занимает ок. 5 минут.', 'Это занимает ок. 5 минут.'),
  ru('Зарплата 120 000 руб. в месяц.', 'Зарплата 120 000 руб. в месяц.'),
  ru('Отлично! 🎉 Что дальше?', 'Отлично! 🎉', 'Что дальше?'),
  ru('Да. Нет. Может быть.', 'Да.', 'Нет.', 'Может быть.'),
  ru('Запустите `npm test`. Все тесты пройдут.', 'Запустите `npm test`.', 'Все тесты пройдут.'),
  ru('Москва — столица России. Здесь живёт 13 млн человек.', 'Москва — столица России.', 'Здесь живёт 13 млн человек.'),
  ru('Вопрос: сколько будет 2+2? Ответ: 4.', 'Вопрос: сколько будет 2+2?', 'Ответ: 4.'),
  ru('Т. е. всё в порядке.', 'Т. е. всё в порядке.'),
  ru('Я приеду в 9 ч. утра. Жди меня.', 'Я приеду в 9 ч. утра.', 'Жди меня.'),
  ru('Смотрите гл. 5 и табл. 2. Там всё есть.', 'Смотрите гл. 5 и табл. 2.', 'Там всё есть.'),
  ru('Пример: файл readme.md. Откройте его.', 'Пример: файл readme.md.', 'Откройте его.'),
  ru('Этот текст\nпереносится по строкам.', 'Этот текст\nпереносится по строкам.'),
  ru(
    "Код:\n```python\nprint('привет')\n```\nЗапустите его.",
    'Код:',
    "```python\nprint('привет')\n```",
    'Запустите его.',
  ),
  ru('Погода: +5 °C, ветер 3 м/с. Зонт не нужен.', 'Погода: +5 °C, ветер 3 м/с.', 'Зонт не нужен.'),
  ru('Это было давно, в 1812 г.', 'Это было давно, в 1812 г.'),
  ru(
    'Н. В. Гоголь родился в 1809 г. в Сорочинцах. Он писал прозу.',
    'Н. В. Гоголь родился в 1809 г. в Сорочинцах.',
    'Он писал прозу.',
  ),
  ru('Книгу издали в 2001 г. Она стала бестселлером.', 'Книгу издали в 2001 г.', 'Она стала бестселлером.'),
  ru('Стоимость — 1,5 млрд руб. Проект окупится.', 'Стоимость — 1,5 млрд руб.', 'Проект окупится.'),
  ru('Используйте ср. значение. Это проще.', 'Используйте ср. значение.', 'Это проще.'),
  ru('Заходите на сайт www.gosuslugi.ru. Там есть форма.', 'Заходите на сайт www.gosuslugi.ru.', 'Там есть форма.'),
  ru('Привет.\nКак дела?', 'Привет.', 'Как дела?'),
  ru('Сумма: 1 500 руб. Оплата картой.', 'Сумма: 1 500 руб.', 'Оплата картой.'),
  ru('Кто там? Это я. Открывай!', 'Кто там?', 'Это я.', 'Открывай!'),
  ru('— Ты придёшь? — Да, приду.', '— Ты придёшь?', '— Да, приду.'),
  ru('Откройте файл config.json. В нём есть ключ api_key.', 'Откройте файл config.json.', 'В нём есть ключ api_key.'),
  ru(
    'На экране открыт документ. В нём три раздела, т.е. введение, анализ и выводы. Хотите, я кратко перескажу?',
    'На экране открыт документ.',
    'В нём три раздела, т.е. введение, анализ и выводы.',
    'Хотите, я кратко перескажу?',
  ),
  ru(
    'Сегодня в Москве +18 °C, к вечеру до +12. Возьмите зонт — возможен дождь.',
    'Сегодня в Москве +18 °C, к вечеру до +12.',
    'Возьмите зонт — возможен дождь.',
  ),

  // ---- mixed and CJK ---------------------------------------------------------------------
  mixed(
    'Это называется machine learning, т.е. машинное обучение. It is popular.',
    'Это называется machine learning, т.е. машинное обучение.',
    'It is popular.',
  ),
  mixed('Откройте Settings. Затем нажмите Save.', 'Откройте Settings.', 'Затем нажмите Save.'),
  mixed('My name is Nexy. Меня зовут Некси.', 'My name is Nexy.', 'Меня зовут Некси.'),
  mixed('Dr. Иванов is here. Он ждёт.', 'Dr. Иванов is here.', 'Он ждёт.'),
  cjk('你好。今天天气很好！你想去哪里？', '你好。', '今天天气很好！', '你想去哪里？'),
  cjk('これはペンです。あれは本です。', 'これはペンです。', 'あれは本です。'),
  cjk('价格是29.95元。太贵了！', '价格是29.95元。', '太贵了！'),
  cjk('你好！Nexy在这里。', '你好！', 'Nexy在这里。'),
]);

/** A small deterministic PRNG (mulberry32), so a chunking can be reproduced from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Cuts text into token-sized pieces of 1–`maxChars` code points, the same pieces for the same seed
 * (LLM streams never split a code point, so neither does this).
 */
export function chunkText(text: string, seed: number, maxChars = 7): string[] {
  const next = random(seed);
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; ) {
    const size = 1 + Math.floor(next() * maxChars);
    pieces.push(points.slice(i, i + size).join(''));
    i += size;
  }
  return pieces;
}

/** Streams `pieces` through a fresh splitter and returns every segment, flush included. */
export function splitStreamed(pieces: readonly string[], options: SentenceSplitterOptions): string[] {
  const splitter = new SentenceSplitter(options);
  const out: string[] = [];
  for (const piece of pieces) out.push(...splitter.push(piece));
  out.push(...splitter.flush());
  return out;
}

/**
 * The share of cases split exactly right when each text is streamed in seeded 1–7 character
 * pieces. Pass a subset (e.g. `SENTENCE_CASES.filter((c) => c.lang === 'ru')`) for a figure per
 * language.
 */
export function splitterAccuracy(
  cases: readonly SentenceCase[] = SENTENCE_CASES,
  options: SentenceSplitterOptions = MEASUREMENT_OPTIONS,
  seed = 1,
): SplitterAccuracy {
  const failed: string[] = [];
  cases.forEach((c, index) => {
    const got = splitStreamed(chunkText(c.text, seed + index), options);
    const right = got.length === c.expected.length && got.every((s, i) => s === c.expected[i]);
    if (!right) failed.push(c.text);
  });
  const total = cases.length;
  const correct = total - failed.length;
  return { total, correct, accuracy: total === 0 ? 0 : correct / total, failed };
}
