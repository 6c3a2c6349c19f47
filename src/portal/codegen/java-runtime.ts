/** The hand-written runtime classes of the Java SDK (JDK 17, java.net.http, no dependencies). */

export const JSON_JAVA = `package dev.atoll.client;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A small, strict JSON reader and writer: objects are Maps, arrays Lists, integers Longs, other numbers Doubles. */
public final class Json {
  private final String s;
  private int i;

  private Json(String s) { this.s = s; }

  public static Object parse(String text) {
    Json p = new Json(text);
    p.ws();
    Object v = p.value();
    p.ws();
    if (p.i != p.s.length()) throw new IllegalArgumentException("trailing characters at " + p.i);
    return v;
  }

  private void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }

  private char peek() {
    if (i >= s.length()) throw new IllegalArgumentException("unexpected end of JSON");
    return s.charAt(i);
  }

  private void expect(String word) {
    if (!s.startsWith(word, i)) throw new IllegalArgumentException("expected " + word + " at " + i);
    i += word.length();
  }

  private Object value() {
    char c = peek();
    switch (c) {
      case '{': return object();
      case '[': return array();
      case '"': return string();
      case 't': expect("true"); return Boolean.TRUE;
      case 'f': expect("false"); return Boolean.FALSE;
      case 'n': expect("null"); return null;
      default: return number();
    }
  }

  private Map<String, Object> object() {
    Map<String, Object> m = new LinkedHashMap<>();
    i++;
    ws();
    if (peek() == '}') { i++; return m; }
    while (true) {
      ws();
      String k = string();
      ws();
      expect(":");
      ws();
      m.put(k, value());
      ws();
      char c = peek();
      i++;
      if (c == '}') return m;
      if (c != ',') throw new IllegalArgumentException("expected , or } at " + (i - 1));
    }
  }

  private List<Object> array() {
    List<Object> l = new ArrayList<>();
    i++;
    ws();
    if (peek() == ']') { i++; return l; }
    while (true) {
      ws();
      l.add(value());
      ws();
      char c = peek();
      i++;
      if (c == ']') return l;
      if (c != ',') throw new IllegalArgumentException("expected , or ] at " + (i - 1));
    }
  }

  private String string() {
    if (peek() != '"') throw new IllegalArgumentException("expected a string at " + i);
    i++;
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = s.charAt(i++);
      if (c == '"') return b.toString();
      if (c != '\\\\') { b.append(c); continue; }
      char e = s.charAt(i++);
      switch (e) {
        case 'n': b.append('\\n'); break;
        case 't': b.append('\\t'); break;
        case 'r': b.append('\\r'); break;
        case 'b': b.append('\\b'); break;
        case 'f': b.append('\\f'); break;
        case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
        default: b.append(e);
      }
    }
  }

  private Object number() {
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
    String n = s.substring(start, i);
    if (n.isEmpty()) throw new IllegalArgumentException("unexpected character at " + start);
    if (n.contains(".") || n.contains("e") || n.contains("E")) return Double.parseDouble(n);
    return Long.parseLong(n);
  }

  public static String write(Object v) {
    StringBuilder b = new StringBuilder();
    write(b, v);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v) {
    if (v == null) b.append("null");
    else if (v instanceof String str) quote(b, str);
    else if (v instanceof Number || v instanceof Boolean) b.append(v);
    else if (v instanceof Map<?, ?> m) {
      b.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) b.append(',');
        first = false;
        quote(b, String.valueOf(e.getKey()));
        b.append(':');
        write(b, e.getValue());
      }
      b.append('}');
    } else if (v instanceof Iterable<?> it) {
      b.append('[');
      boolean first = true;
      for (Object o : it) {
        if (!first) b.append(',');
        first = false;
        write(b, o);
      }
      b.append(']');
    } else quote(b, v.toString());
  }

  private static void quote(StringBuilder b, String str) {
    b.append('"');
    for (char c : str.toCharArray()) {
      if (c == '"' || c == '\\\\') b.append('\\\\').append(c);
      else if (c < 0x20) b.append(String.format("\\\\u%04x", (int) c));
      else b.append(c);
    }
    b.append('"');
  }

  // Conversions used by the generated models.
  @SuppressWarnings("unchecked")
  public static Map<String, Object> obj(Object o) { return o instanceof Map<?, ?> ? (Map<String, Object>) o : Map.of(); }
  public static String str(Object o) { return o == null ? null : o.toString(); }
  public static Long lng(Object o) { return o instanceof Number n ? n.longValue() : null; }
  public static Double dbl(Object o) { return o instanceof Number n ? n.doubleValue() : null; }
  public static Boolean bool(Object o) { return o instanceof Boolean x ? x : null; }
  @SuppressWarnings("unchecked")
  public static List<Object> list(Object o) { return o instanceof List<?> ? (List<Object>) o : null; }
}
`;

export const EXCEPTION_JAVA = `package dev.atoll.client;

import java.util.Map;

/** An RFC 9457 problem document answered by the platform. */
public class AtollException extends RuntimeException {
  public final int status;
  /** The problem type's slug: "rate-limited", "not-found", … */
  public final String type;
  public final Map<String, Object> problem;

  public AtollException(Map<String, Object> problem) {
    super(String.valueOf(problem.getOrDefault("detail", problem.getOrDefault("title", "error"))));
    this.problem = problem;
    Object s = problem.get("status");
    this.status = s instanceof Number n ? n.intValue() : 0;
    String t = String.valueOf(problem.getOrDefault("type", ""));
    this.type = t.substring(t.lastIndexOf('/') + 1);
  }
}
`;

export const CLIENT_RUNTIME = `
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String baseUrl;
  private final String apiKey;
  private final String clientId;
  private final String clientSecret;
  private int maxRetries = 3;
  private String token;
  private long tokenExpiresAt;

  private Atoll(String baseUrl, String apiKey, String clientId, String clientSecret) {
    this.baseUrl = baseUrl.replaceAll("/+$", "");
    this.apiKey = apiKey;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
  }

  /** A client that sends an API key (X-API-Key). */
  public static Atoll withApiKey(String baseUrl, String apiKey) { return new Atoll(baseUrl, apiKey, null, null); }

  /** A client that exchanges OAuth 2.0 client credentials for access tokens (renewed before they expire). */
  public static Atoll withClientCredentials(String baseUrl, String clientId, String clientSecret) { return new Atoll(baseUrl, null, clientId, clientSecret); }

  /** Retries of 429 and 5xx answers (default 3), honouring Retry-After. */
  public Atoll maxRetries(int n) { this.maxRetries = n; return this; }

  private static String form(Map<String, String> fields) {
    StringBuilder b = new StringBuilder();
    for (Map.Entry<String, String> e : fields.entrySet()) {
      if (b.length() > 0) b.append('&');
      b.append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=').append(URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8));
    }
    return b.toString();
  }

  private synchronized String authorization() throws IOException, InterruptedException {
    if (apiKey != null) return null;
    if (token == null || tokenExpiresAt - 30_000 < System.currentTimeMillis()) {
      Map<String, String> f = new LinkedHashMap<>();
      f.put("grant_type", "client_credentials");
      f.put("client_id", clientId);
      f.put("client_secret", clientSecret);
      HttpRequest req = HttpRequest.newBuilder(URI.create(baseUrl + "/oauth/token")).header("content-type", "application/x-www-form-urlencoded").header("accept", "application/json").POST(HttpRequest.BodyPublishers.ofString(form(f))).build();
      HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
      Map<String, Object> body = Json.obj(Json.parse(res.body()));
      if (res.statusCode() != 200 || body.get("access_token") == null) {
        Map<String, Object> p = new LinkedHashMap<>(body);
        p.putIfAbsent("status", (long) res.statusCode());
        p.putIfAbsent("type", "oauth-error");
        throw new AtollException(p);
      }
      token = String.valueOf(body.get("access_token"));
      Long expiresIn = Json.lng(body.get("expires_in"));
      tokenExpiresAt = System.currentTimeMillis() + (expiresIn == null ? 300 : expiresIn) * 1000;
    }
    return "Bearer " + token;
  }

  /** Sends one request; retries 429 and 5xx with exponential backoff, honouring Retry-After. */
  public Object request(String method, String path, Map<String, ?> query, Map<String, String> headers, Object body, boolean auth) {
    StringBuilder url = new StringBuilder(baseUrl).append(path);
    if (query != null) {
      boolean first = true;
      for (Map.Entry<String, ?> e : query.entrySet()) {
        if (e.getValue() == null) continue;
        url.append(first ? '?' : '&').append(URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)).append('=').append(URLEncoder.encode(String.valueOf(e.getValue()), StandardCharsets.UTF_8));
        first = false;
      }
    }
    try {
      for (int attempt = 0; ; attempt++) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url.toString())).timeout(Duration.ofSeconds(30)).header("accept", "application/json");
        if (auth) {
          String a = authorization();
          if (a == null) b.header("x-api-key", apiKey); else b.header("authorization", a);
        }
        if (headers != null) for (Map.Entry<String, String> e : headers.entrySet()) if (e.getValue() != null) b.header(e.getKey(), e.getValue());
        if (body != null) b.header("content-type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(Json.write(body)));
        else b.method(method, HttpRequest.BodyPublishers.noBody());
        HttpResponse<String> res = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        int status = res.statusCode();
        if ((status == 429 || status >= 500) && attempt < maxRetries) {
          long wait = res.headers().firstValue("retry-after").map(v -> { try { return Long.parseLong(v.trim()) * 1000; } catch (NumberFormatException x) { return -1L; } }).orElse(-1L);
          if (wait < 0) wait = (long) (Math.min(8000, 250 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2));
          Thread.sleep(wait);
          continue;
        }
        String text = res.body();
        Object data = text == null || text.isEmpty() ? null : Json.parse(text);
        if (status >= 400) {
          Map<String, Object> p = new LinkedHashMap<>(Json.obj(data));
          p.putIfAbsent("status", (long) status);
          p.putIfAbsent("type", "about:blank");
          throw new AtollException(p);
        }
        return data;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String seg(String value) { return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20").replace("%40", "@"); }
`;
