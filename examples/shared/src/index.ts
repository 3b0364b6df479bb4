export * from './catalogue.js';
export { chooseStore, redisOptionsFromUrl, type ChosenStore } from './store.js';
export { serve, type ServedApp } from './serve.js';
