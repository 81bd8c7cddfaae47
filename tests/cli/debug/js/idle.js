let waited = 'not yet';
await sleep(3600);
waited = 'yes';
