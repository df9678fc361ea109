import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractFacts } from './fact-rules.js';

describe('extractFacts', () => {
  const cases: ReadonlyArray<readonly [string, string, readonly string[]]> = [
    // English
    ['EN my name is', 'My name is Alex.', ["User's name is Alex"]],
    ['EN name is capitalised', 'my name is alex', ["User's name is Alex"]],
    ['EN first and last name', 'my name is Alex Smith', ["User's name is Alex Smith"]],
    ['EN name stops at an unpunctuated next clause', 'my name is alex i live in berlin', ["User's name is Alex"]],
    ["EN my name's", "Hey Nexy, my name's Sam!", ["User's name is Sam"]],
    ['EN call me', 'Call me Max', ["User's name is Max"]],
    ['EN call me back is not a name', 'call me back later', []],
    ['EN I like', 'I like jazz and old movies.', ['User likes jazz and old movies']],
    ['EN I really like', 'Well, I really like hiking', ['User likes hiking']],
    ['EN I love', 'I love Italian food', ['User loves Italian food']],
    ['EN I love you is not a fact', 'I love you', []],
    ['EN I like it when is not a fact', 'I like it when you talk fast', []],
    ["EN I don't like is not caught as a like", "I don't like rain", []],
    ['EN remember', 'Remember that my sister is called Anna', ['User asked to remember: my sister is called Anna']],
    ['EN please remember', 'Please remember, I park on level 3.', ['User asked to remember: I park on level 3']],
    ['EN remember that a stated fact', 'remember that my name is Kate', ["User's name is Kate"]],
    ['EN remember what (a recall) is not a fact', 'remember what I told you yesterday', []],
    ['EN remember me is not a fact', 'remember me', []],
    ['EN remember to', 'Remember to buy milk', ['User asked to remember: to buy milk']],
    ['EN question is not a fact', 'Do you remember my name?', []],
    ['EN my name question', 'Is my name Alex?', []],
    ['EN two clauses', 'My name is Alex and I like chess.', ["User's name is Alex", 'User likes chess']],
    ['EN two sentences', 'Hi. My name is Bob. What time is it?', ["User's name is Bob"]],
    ['EN mid-sentence "I like" is not caught', 'What I like is unclear', []],
    ['EN nothing', 'What is the weather today?', []],
    // Russian
    ['RU меня зовут', 'Меня зовут Саша.', ['Пользователя зовут Саша']],
    ['RU меня зовут lowercase', 'меня зовут анна мария', ['Пользователя зовут Анна Мария']],
    ['RU зови меня', 'Зови меня Макс', ['Пользователя зовут Макс']],
    ['RU мне нравится', 'Мне нравится джаз', ['Пользователю нравится джаз']],
    ['RU мне нравятся', 'мне нравятся кошки', ['Пользователю нравится кошки']],
    ['RU я люблю', 'Я люблю зелёный чай!', ['Пользователь любит зелёный чай']],
    ['RU я люблю тебя is not a fact', 'я люблю тебя', []],
    ['RU запомни', 'Запомни: я паркуюсь на третьем уровне', ['Пользователь просил запомнить: я паркуюсь на третьем уровне']],
    ['RU запомни, пожалуйста, что', 'Запомни, пожалуйста, что у меня аллергия на орехи', ['Пользователь просил запомнить: у меня аллергия на орехи']],
    ['RU запомни stated name', 'запомни, меня зовут Олег', ['Пользователя зовут Олег']],
    ['RU запомни меня is not a fact', 'запомни меня', []],
    ['RU question is not a fact', 'Ты помнишь, как меня зовут?', []],
    ['RU recall is not a fact', 'запомни когда я вернусь', []],
    ['RU two clauses', 'Меня зовут Ира, и я люблю кофе', ['Пользователя зовут Ира', 'Пользователь любит кофе']],
    ['RU filler', 'Кстати, мне нравится Пушкин', ['Пользователю нравится Пушкин']],
    ['RU nothing', 'Какая погода в Москве?', []],
    // Mixed
    ['duplicates removed', 'I like tea. I like tea.', ['User likes tea']],
    ['empty', '', []],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.deepEqual(extractFacts(input), expected));
  }
});
