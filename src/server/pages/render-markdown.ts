import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import { type Html, trustedHtml } from './html.js';

// Raw HTML off: a `<script>` or `<img onerror>` in the model's summary stays text. The sanitizer
// below is the second wall, in case the renderer ever lets something through.
const markdown = new MarkdownIt({ html: false, linkify: true, typographer: false });

const ALLOWED_TAGS = [
  'p',
  'br',
  'hr',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'strong',
  'em',
  's',
  'del',
  'code',
  'pre',
  'blockquote',
  'ul',
  'ol',
  'li',
  'a',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
];

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: { a: ['href', 'title', 'rel'], ol: ['start'], th: ['align'], td: ['align'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'escape',
  transformTags: {
    // Links in a summary lead away from Patchbay: no referrer, no window handle.
    a: sanitizeHtml.simpleTransform('a', { rel: 'nofollow noopener noreferrer' }),
  },
};

/** The agent's summary (model-written Markdown) as HTML safe to put in a page. */
export function renderMarkdown(text: string): Html {
  return trustedHtml(sanitizeHtml(markdown.render(text), SANITIZE));
}
