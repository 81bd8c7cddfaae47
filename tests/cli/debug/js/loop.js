let acc = 0;
for (let i = 1; i <= 10; i++) {
  acc = acc + i * i;
}
while (true) {
  acc = acc + 1;
}
