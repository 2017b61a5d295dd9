// JSON as text, for values whose shape a publisher chose. JSON.stringify
// recurses, so a few thousand nested arrays make it throw, and its
// indentation grows with depth, so 9 KB of nested arrays indent to 44
// million characters. formatJSON writes the same text as
// JSON.stringify(value, null, indent) without recursion, and stops once the
// text passes limit characters: its work is bounded by limit, not by what
// the indentation would have made.

// formatJSON returns { text, whole }: the text, cut at limit characters
// when whole is false. indent 0 is the compact form.
export function formatJSON(value, indent, limit) {
  const parts = [];
  let size = 0;
  // todo holds what is left to write, the next last: text as it is, or a
  // value with its depth.
  const todo = [{ value, depth: 0 }];
  while (todo.length > 0) {
    const next = todo.pop();
    const text = typeof next === 'string' ? next : open(next, indent, todo);
    parts.push(text);
    size += text.length;
    if (size > limit) return { text: cut(parts.join(''), limit), whole: false };
  }
  return { text: parts.join(''), whole: true };
}

// open returns the text that begins a value (all of it for a string, a
// number, true, false or null) and puts what follows on todo.
function open({ value, depth }, indent, todo) {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const array = Array.isArray(value);
  const keys = array ? null : Object.keys(value);
  const n = array ? value.length : keys.length;
  if (n === 0) return array ? '[]' : '{}';
  const newline = (d) => (indent ? '\n' + ' '.repeat(indent * d) : '');
  todo.push(newline(depth) + (array ? ']' : '}'));
  for (let i = n - 1; i >= 0; i--) {
    todo.push({ value: array ? value[i] : value[keys[i]], depth: depth + 1 });
    if (!array) todo.push(JSON.stringify(keys[i]) + (indent ? ': ' : ':'));
    todo.push((i === 0 ? '' : ',') + newline(depth + 1));
  }
  return array ? '[' : '{';
}

// cut keeps limit characters of text, not half of a surrogate pair.
function cut(text, limit) {
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}
