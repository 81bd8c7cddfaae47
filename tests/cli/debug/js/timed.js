const x = 41;
export default x + 1;
