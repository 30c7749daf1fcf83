# seeds/001, 二、2 "注意力层" (SimpleAttention) and "Transformer 层" (MultiHeadAttention), as written
import torch
import torch.nn as nn
import torch.nn.functional as F

class SimpleAttention(nn.Module):
    def __init__(self, hidden_size):
        super(SimpleAttention, self).__init__()
        self.attn = nn.Linear(hidden_size, hidden_size)  # 学习权重参数
        self.v = nn.Parameter(torch.randn(hidden_size))  # 可学习的向量
    def forward(self, hidden, encoder_outputs):
        # hidden: 当前解码器状态 (batch_size, hidden_size)
        # encoder_outputs: 编码器所有时间步的输出 (batch_size, seq_len, hidden_size)
        energy = torch.tanh(self.attn(encoder_outputs))  # (batch_size, seq_len, hidden_size)
        energy = energy @ self.v  # (batch_size, seq_len) 计算未归一化的注意力分数
        attn_weights = F.softmax(energy, dim=1)  # (batch_size, seq_len) 归一化权重
        context = torch.sum(attn_weights.unsqueeze(2) * encoder_outputs, dim=1)  # (batch_size, hidden_size) 加权求和
        return context, attn_weights

class MultiHeadAttention(nn.Module):
    def __init__(self, embed_size, heads):
        super(MultiHeadAttention, self).__init__()
        self.embed_size = embed_size
        self.heads = heads
        self.head_dim = embed_size // heads
        # 确保embed_size能被heads整除
        assert self.head_dim * heads == embed_size, "Embed size needs to be divisible by heads"
        # 线性变换层 (投影到Q, K, V空间)
        self.values = nn.Linear(self.head_dim, self.head_dim, bias=False)
        self.keys = nn.Linear(self.head_dim, self.head_dim, bias=False)
        self.queries = nn.Linear(self.head_dim, self.head_dim, bias=False)
        # 合并多头输出的线性层
        self.fc_out = nn.Linear(heads * self.head_dim, embed_size)
    def forward(self, values, keys, query):
        # 获取batch大小
        N = query.shape[0]
        # 获取序列长度
        value_len, key_len, query_len = values.shape[1], keys.shape[1], query.shape[1]
        # 分割嵌入维度到多个头 (Split the embedding into self.heads different pieces)
        values = values.reshape(N, value_len, self.heads, self.head_dim)
        keys = keys.reshape(N, key_len, self.heads, self.head_dim)
        queries = query.reshape(N, query_len, self.heads, self.head_dim)
        # 线性投影到Q, K, V空间
        values = self.values(values)
        keys = self.keys(keys)
        queries = self.queries(queries)
        energy = torch.einsum("nqhd,nkhd->nhqk", [queries, keys])
        # 缩放点积注意力 (Scale dot-product attention)
        energy = energy / (self.embed_size ** (1 / 2))  # 除以sqrt(d_k)
        # 计算注意力权重 (Softmax over the key dimension)
        attention = torch.softmax(energy, dim=3)  # dim=3 is key_len dimension
        out = torch.einsum("nhql,nlhd->nqhd", [attention, values])
        # 合并多头输出: 将最后两个维度(heads * head_dim)展平 -> (N, query_len, heads * head_dim)
        out = out.reshape(N, query_len, self.heads * self.head_dim)
        # 通过最终的线性层投影回原始嵌入维度
        out = self.fc_out(out)
        return out
