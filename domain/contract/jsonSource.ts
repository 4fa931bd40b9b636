/**
 * JSON parsing that remembers where every value stands in the source text, so that a
 * violation reported by pointer can also name the file's line and column.
 */
export interface SourcePosition {
  line: number;
  column: number;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: SourcePosition,
  ) {
    super(`${message} at line ${position.line}, column ${position.column}`);
    this.name = 'JsonSyntaxError';
  }
}

export interface ParsedJson {
  value: unknown;
  /** Position of the value (for a property: of its key) at each JSON pointer. */
  positions: Map<string, SourcePosition>;
}

export function parseJsonWithPositions(text: string): ParsedJson {
  const positions = new Map<string, SourcePosition>();
  let i = 0;

  const lineStarts = [0];
  for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) === 10) lineStarts.push(k + 1);
  const posAt = (index: number): SourcePosition => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: index - lineStarts[lo]! + 1 };
  };
  const fail = (message: string): never => {
    throw new JsonSyntaxError(message, posAt(i));
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const token = (pointerToken: string) => pointerToken.replace(/~/g, '~0').replace(/\//g, '~1');

  const parseString = (): string => {
    const start = i;
    // JSON.parse validates escapes for us once the closing quote is found.
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('unescaped control character in string');
      i++;
    }
    if (i >= text.length) {
      i = start;
      fail('unterminated string');
    }
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      i = start;
      return fail('invalid escape in string');
    }
  };

  const parseValue = (pointer: string, keyIndex?: number): unknown => {
    ws();
    positions.set(pointer, posAt(keyIndex ?? i));
    const ch = text[i];
    if (ch === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a property name in double quotes');
        const keyAt = i;
        const key = parseString();
        ws();
        if (text[i] !== ':') fail("expected ':' after property name");
        i++;
        obj[key] = parseValue(`${pointer}/${token(key)}`, keyAt);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}' after property value");
      }
    }
    if (ch === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(`${pointer}/${arr.length}`));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']' after array element");
      }
    }
    if (ch === '"') return parseString();
    const m = /^(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) return fail(i >= text.length ? 'unexpected end of input' : `unexpected character '${ch}'`);
    i += m[0].length;
    return JSON.parse(m[0]);
  };

  const value = parseValue('');
  ws();
  if (i < text.length) fail('unexpected content after the JSON value');
  return { value, positions };
}

/** The closest known position for a pointer: the value itself, else its nearest parent. */
export function positionOf(positions: Map<string, SourcePosition>, pointer: string): SourcePosition | undefined {
  let p = pointer;
  for (;;) {
    const pos = positions.get(p);
    if (pos) return pos;
    if (p === '') return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
