import {twice} from './lib/util.js';
print(twice(5));
