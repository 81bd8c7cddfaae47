let waited = 'not yet'; print('waiting');
await sleep(3600);
waited = 'yes';
