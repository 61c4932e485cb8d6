// WebDAV's XML: request bodies parsed safely (bounded, well-formed, no DTD and so no entities to
// expand, namespaces resolved), and the small serialiser answers and dead properties need.

import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { DfsError } from '../../../protocol/errors.ts'

export const DAV = 'DAV:'
/** A request body of XML larger than this is refused: every WebDAV request body is small. */
export const MAX_XML_BYTES = 1024 * 1024
const MAX_DEPTH = 64

/** An element with its namespace resolved; `text` keeps entity references as written. */
export interface XmlElement {
  ns: string
  name: string
  attrs: Record<string, string>
  children: XmlElement[]
  text: string
  /** Text and children in document order (mixed content, for a dead property kept verbatim). */
  content: (string | XmlElement)[]
}

type Ordered = Record<string, unknown> & { ':@'?: Record<string, string> }

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
})

/** The root element of an XML body, or undefined for an empty one. DFS_BAD_REQUEST if it is not XML. */
export function parseXml(body: string): XmlElement | undefined {
  if (body.trim() === '') return undefined
  // A DTD is where entity bombs and external entities live; no WebDAV client sends one.
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) throw bad('XML with a DOCTYPE or ENTITY is refused')
  const valid = XMLValidator.validate(body)
  if (valid !== true) throw bad(`the XML body is not well-formed: ${valid.err.msg}`)
  let tree: Ordered[]
  try {
    tree = parser.parse(body) as Ordered[]
  } catch (error) {
    throw bad(`the XML body could not be read: ${(error as Error).message}`)
  }
  const root = tree.find((node) => elementKey(node) !== undefined)
  if (!root) throw bad('the XML body has no element')
  return resolve(root, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), 0)
}

function resolve(node: Ordered, scope: Map<string, string>, depth: number): XmlElement {
  if (depth > MAX_DEPTH) throw bad(`the XML body nests deeper than ${MAX_DEPTH} levels`)
  const key = elementKey(node)!
  const attributes = node[':@'] ?? {}
  const inner = new Map(scope)
  const attrs: Record<string, string> = {}
  for (const [attr, value] of Object.entries(attributes)) {
    if (attr === 'xmlns') inner.set('', value)
    else if (attr.startsWith('xmlns:')) inner.set(attr.slice(6), value)
    else if (!attr.includes(':')) attrs[attr] = value
  }
  const colon = key.indexOf(':')
  const prefix = colon < 0 ? '' : key.slice(0, colon)
  const ns = inner.get(prefix)
  if (ns === undefined && prefix !== '') throw bad(`the XML prefix ${prefix}: is not declared`)
  const content: (string | XmlElement)[] = []
  for (const child of node[key] as Ordered[]) {
    if (typeof child['#text'] === 'string') content.push(child['#text'])
    else if (elementKey(child) !== undefined) content.push(resolve(child, inner, depth + 1))
  }
  const children = content.filter((c): c is XmlElement => typeof c !== 'string')
  const text = content.filter((c): c is string => typeof c === 'string').join('')
  return { ns: ns ?? '', name: colon < 0 ? key : key.slice(colon + 1), attrs, children, text, content }
}

function elementKey(node: Ordered): string | undefined {
  return Object.keys(node).find((k) => k !== ':@' && !k.startsWith('#') && !k.startsWith('?'))
}

/** The children of `element` that are `ns`:`name`. */
export function childrenNamed(element: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return element?.children.filter((c) => c.ns === ns && c.name === name) ?? []
}

export function child(element: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return childrenNamed(element, ns, name)[0]
}

/** A property's key in Clark notation, `{namespace}name`: how dead properties are kept. */
export function clark(element: { ns: string; name: string }): string {
  return `{${element.ns}}${element.name}`
}

export function fromClark(key: string): { ns: string; name: string } {
  const end = key.indexOf('}')
  return { ns: key.slice(1, end), name: key.slice(end + 1) }
}

/** An element written back out, declaring its own namespace: a dead property's value as kept. */
export function serialise(element: XmlElement, parentNs?: string): string {
  const xmlns = element.ns === parentNs ? '' : ` xmlns="${escapeXml(element.ns)}"`
  const attrs = Object.entries(element.attrs)
    .map(([k, v]) => ` ${k}="${v.replace(/"/g, '&quot;')}"`)
    .join('')
  const inner = element.content.map((c) => (typeof c === 'string' ? c : serialise(c, element.ns))).join('')
  return inner === ''
    ? `<${element.name}${xmlns}${attrs}/>`
    : `<${element.name}${xmlns}${attrs}>${inner}</${element.name}>`
}

/** An empty element for a property name, in its own namespace. */
export function emptyElement(key: string): string {
  const { ns, name } = fromClark(key)
  return ns === DAV ? `<D:${name}/>` : `<${name} xmlns="${escapeXml(ns)}"/>`
}

/** Text with its entity references decoded (the five XML ones and numeric ones). */
export function textOf(element: XmlElement | undefined): string {
  return (element?.text ?? '').replace(
    /&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g,
    (_m, ref: string) => {
      if (ref.startsWith('#x')) return codePoint(parseInt(ref.slice(2), 16))
      if (ref.startsWith('#')) return codePoint(parseInt(ref.slice(1), 10))
      return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[ref] ?? ''
    },
  )
}

/** A character reference's character; one out of Unicode's range reads as U+FFFD (names refuse it). */
function codePoint(value: number): string {
  return value > 0 && value <= 0x10ffff ? String.fromCodePoint(value) : '\uFFFD'
}

export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  )
}

function bad(message: string): DfsError {
  return new DfsError('DFS_BAD_REQUEST', message)
}
