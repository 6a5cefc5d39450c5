/**
 * The names of the BTCPay stacks on the btcpayserver instance, where workflows need them (the plan's items, the
 * pre-load refusal). Pure and dependency-free: workflows import it; the stacks themselves are in ../stacks/btcpay.
 */
export const BTCPAY_STACKS = { bitcoin: 'btcpay-bitcoin', server: 'btcpay-server' } as const;
