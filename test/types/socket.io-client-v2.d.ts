/**
 * The few parts of socket.io-client 2.x (installed as `socket.io-client-v2`, an npm alias) that
 * test/integration/sockets-eio3.test.ts uses: the package ships no types.
 */
declare module 'socket.io-client-v2' {
  interface SocketV2 {
    connected: boolean;
    id: string;
    io: { engine: { on(event: string, listener: (...args: any[]) => void): void } };
    on(event: string, listener: (...args: any[]) => void): SocketV2;
    once(event: string, listener: (...args: any[]) => void): SocketV2;
    off(event: string, listener?: (...args: any[]) => void): SocketV2;
    emit(event: string, ...args: any[]): SocketV2;
    close(): SocketV2;
  }
  function io(url: string, options?: Record<string, unknown>): SocketV2;

  export type { SocketV2 };
  export default io;
}
