# seeds/002, 六、3 语音识别: "关键代码片段(使用DeepSpeech模型)", as written. Not valid Python:
# `...` cannot stand as a parameter, so compiling it raises SyntaxError (the test checks that).
# 定义DeepSpeech模型
class DeepSpeech(nn.Module):
    def __init__(self, rnn_type=nn.GRU, ...):
        super(DeepSpeech, self).__init__()
        # 定义卷积层、RNN层、全连接层等
        # ...
    def forward(self, x):
        # 前向传播过程
        # ...
        return output
